/**
 * Ignition's semantic validation of the generated config (config/v3_N/types/*.go Validate methods and
 * config/validate ValidateDups), reported against the YAML paths the objects came from, as Butane does.
 * This covers the checks a hand-written Butane document most often trips; `ignition-validate` remains the
 * reference for the rest.
 */
import type { DiagnosticReport, PathSegment } from "./diagnostics.ts";
import { type IgnObject, type IgnSchema, type IgnTypeName, type IgnValue, yamlOrigin } from "./ignition-model.ts";
import type { ButaneSpec } from "./spec.ts";

const UNIT_EXTENSIONS = new Set([
  ".service",
  ".socket",
  ".device",
  ".mount",
  ".automount",
  ".swap",
  ".target",
  ".path",
  ".timer",
  ".snapshot",
  ".slice",
  ".scope",
]);
const RAID_LEVELS = new Set(["linear", "raid0", "0", "stripe", "raid1", "1", "mirror", "raid4", "4", "raid5", "5", "raid6", "6", "raid10", "10"]);
const GUID = /^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$/;
const LINE_MAX = 2048;

function snake(jsonName: string): string {
  return jsonName.replace(/(MiB|[A-Z])/g, "_$1").toLowerCase();
}

function isObject(value: IgnValue | undefined): value is IgnObject {
  return typeof value === "object" && !Array.isArray(value);
}

function objects(value: IgnValue | undefined): IgnObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function str(object: IgnObject | undefined, field: string): string | undefined {
  const value = object?.[field];
  return typeof value === "string" ? value : undefined;
}

function num(object: IgnObject | undefined, field: string): number | undefined {
  const value = object?.[field];
  return typeof value === "number" ? value : undefined;
}

class Checker {
  constructor(
    private readonly spec: ButaneSpec,
    private readonly schema: IgnSchema,
    private readonly report: DiagnosticReport,
  ) {}

  private pathOf(object: IgnObject, field?: string, fallback: readonly PathSegment[] = []): PathSegment[] {
    const origin = yamlOrigin.get(object) ?? fallback;
    return field === undefined ? [...origin] : [...origin, snake(field)];
  }

  error(object: IgnObject, field: string | undefined, message: string): void {
    this.report.error(this.pathOf(object, field), message);
  }

  warning(object: IgnObject, field: string | undefined, message: string): void {
    this.report.warning(this.pathOf(object, field), message);
  }

  absolutePath(object: IgnObject, field: string, required: boolean): void {
    const value = str(object, field);
    if (value === undefined || value === "") {
      if (required) this.error(object, field, field === "device" ? "disk device is required" : "path not absolute");
      return;
    }
    if (!value.startsWith("/")) this.error(object, field, "path not absolute");
  }

  url(object: IgnObject, field: string, allowed: readonly string[]): string | undefined {
    const value = str(object, field);
    if (value === undefined) return undefined;
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
    if (scheme === undefined) {
      if (value !== "") this.error(object, field, "invalid url scheme");
      return undefined;
    }
    if (!allowed.includes(scheme)) {
      this.error(object, field, "invalid url scheme");
      return scheme;
    }
    if (scheme === "data" && !/^data:[^,]*,/.test(value)) this.error(object, field, "unable to parse url");
    if ((scheme === "http" || scheme === "https" || scheme === "tftp") && !URL.canParse(value)) {
      this.error(object, field, "unable to parse url");
    }
    return scheme;
  }

  resourceSchemes(): string[] {
    const schemes = ["http", "https", "tftp", "s3", "data"];
    if (this.spec.ignitionMinor >= 2) schemes.push("gs");
    if (this.spec.ignitionMinor >= 4) schemes.push("arn");
    return schemes;
  }

  resource(resource: IgnObject, sourceRequired: boolean): void {
    const scheme = this.url(resource, "source", this.resourceSchemes());
    if (sourceRequired && str(resource, "source") === undefined) this.error(resource, "source", "source is required");
    const compression = str(resource, "compression");
    if (compression !== undefined && compression !== "" && compression !== "gzip") {
      this.error(resource, "compression", "invalid compression method");
    }
    const verification = resource.verification;
    const hash = isObject(verification) ? str(verification, "hash") : undefined;
    if (isObject(verification) && hash !== undefined) this.hash(verification, hash);
    const headers = objects(resource.httpHeaders);
    if (headers.length > 0 && scheme !== undefined && scheme !== "http" && scheme !== "https") {
      this.error(resource, "httpHeaders", "cannot use HTTP headers with this source scheme");
    }
    for (const header of headers) {
      if ((str(header, "name") ?? "") === "") this.error(header, "name", "HTTP header name can't be empty");
    }
  }

  hash(verification: IgnObject, hash: string): void {
    const separator = hash.indexOf("-");
    if (separator < 0) {
      this.error(verification, "hash", "malformed hash specifier");
      return;
    }
    const algorithm = hash.slice(0, separator);
    const digest = hash.slice(separator + 1);
    const sizes: Record<string, number> = this.spec.ignitionMinor >= 1 ? { sha512: 128, sha256: 64 } : { sha512: 128 };
    const size = sizes[algorithm];
    if (size === undefined) {
      this.error(verification, "hash", "unrecognized hash function");
      return;
    }
    if (digest.length !== size || !/^[0-9a-fA-F]+$/.test(digest)) this.error(verification, "hash", "incorrect size for hash sum");
  }

  mode(node: IgnObject): void {
    const mode = num(node, "mode");
    if (mode === undefined) return;
    if (mode < 0 || mode > 0o7777) {
      this.error(node, "mode", "illegal file mode");
    } else if (this.spec.ignitionMinor <= 3 && (mode & 0o7000) !== 0) {
      this.warning(node, "mode", "setuid/setgid/sticky bits are not supported in spec versions older than 3.4.0");
    }
  }

  node(node: IgnObject): void {
    this.absolutePath(node, "path", true);
    for (const ownerField of ["user", "group"]) {
      const owner = node[ownerField];
      if (isObject(owner) && num(owner, "id") !== undefined && str(owner, "name") !== undefined) {
        this.error(owner, undefined, "cannot set both id and name");
      }
    }
  }

  unitContents(owner: IgnObject, contents: string): { sections: Set<string>; valid: boolean } {
    const sections = new Set<string>();
    let current: string | undefined;
    const lines = contents.replace(/\\\r?\n/g, " ").split(/\r?\n/);
    for (const rawLine of lines) {
      const line = rawLine.trim();
      if (rawLine.length > LINE_MAX) {
        this.error(owner, "contents", "invalid unit content: line too long");
        return { sections, valid: false };
      }
      if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
      if (line.startsWith("[")) {
        if (!line.endsWith("]") || line.length < 3) {
          this.error(owner, "contents", `invalid unit content: invalid section header ${JSON.stringify(line)}`);
          return { sections, valid: false };
        }
        current = line.slice(1, -1);
        continue;
      }
      if (current === undefined) {
        this.error(owner, "contents", "invalid unit content: option found before any section header");
        return { sections, valid: false };
      }
      if (!line.includes("=")) {
        this.error(owner, "contents", `invalid unit content: line ${JSON.stringify(line)} is not an option assignment`);
        return { sections, valid: false };
      }
      sections.add(current);
    }
    return { sections, valid: true };
  }

  unit(unit: IgnObject): void {
    const name = str(unit, "name") ?? "";
    const extension = name.includes(".") ? name.slice(name.lastIndexOf(".")) : "";
    if (!UNIT_EXTENSIONS.has(extension)) this.error(unit, "name", "invalid systemd unit extension");
    const contents = str(unit, "contents");
    if (contents !== undefined) {
      const parsed = this.unitContents(unit, contents);
      if (parsed.valid && unit.enabled === true && contents !== "" && !parsed.sections.has("Install")) {
        this.warning(unit, "contents", `unit ${JSON.stringify(name)} is enabled, but has no install section so enable does nothing`);
      }
    }
    for (const dropin of objects(unit.dropins)) {
      if (!(str(dropin, "name") ?? "").endsWith(".conf")) this.error(dropin, "name", "invalid systemd drop-in extension");
      const dropinContents = str(dropin, "contents");
      if (dropinContents !== undefined) this.unitContents(dropin, dropinContents);
    }
  }

  luks(luks: IgnObject): void {
    if ((str(luks, "name") ?? "") === "") this.error(luks, "name", "luks device name is required");
    this.absolutePath(luks, "device", true);
    const keyFile = luks.keyFile;
    if (isObject(keyFile)) this.resource(keyFile, false);
    const clevis = luks.clevis;
    if (isObject(clevis)) {
      const custom = clevis.custom;
      const tang = objects(clevis.tang);
      if (isObject(custom) && Object.keys(custom).length > 0) {
        if (tang.length > 0 || clevis.tpm2 === true || num(clevis, "threshold") !== undefined) {
          this.error(clevis, "custom", "cannot use custom clevis config with tpm2, tang, or threshold");
        }
        const pin = str(custom, "pin");
        if ((pin ?? "") === "") this.error(custom, "pin", "clevis pin is required");
        else if (!["tpm2", "tang", "sss"].includes(pin ?? "")) this.error(custom, "pin", "clevis pin must be tpm2, tang, or sss");
        if ((str(custom, "config") ?? "") === "") this.error(custom, "config", "clevis config is required");
      }
      for (const server of tang) {
        this.url(server, "url", ["http", "https"]);
        if ((str(server, "thumbprint") ?? "") === "") this.error(server, "thumbprint", "thumbprint is required");
        const advertisement = str(server, "advertisement");
        if (advertisement !== undefined && advertisement !== "") {
          try {
            JSON.parse(advertisement);
          } catch {
            this.error(server, "advertisement", "advertisement is not valid JSON");
          }
        }
      }
    }
    const cex = luks.cex;
    if (isObject(cex) && cex.enabled === true) {
      if (isObject(clevis) && Object.keys(clevis).length > 0) this.error(luks, "cex", "cannot use cex with clevis");
      if (isObject(keyFile) && str(keyFile, "source") !== undefined) this.error(luks, "cex", "cannot use key file with cex");
    }
  }

  filesystem(filesystem: IgnObject): void {
    this.absolutePath(filesystem, "device", true);
    const path = str(filesystem, "path");
    if (path !== undefined && path !== "" && !path.startsWith("/")) this.error(filesystem, "path", "path not absolute");
    const format = str(filesystem, "format");
    const formats = ["ext4", "btrfs", "xfs", "vfat", "swap", ...(this.spec.ignitionMinor >= 3 ? ["none"] : [])];
    if (format !== undefined && format !== "" && !formats.includes(format)) {
      this.error(filesystem, "format", "invalid filesystem format");
    }
    const hasOthers = ["path", "label", "uuid", "wipeFilesystem", "options", "mountOptions"].some((field) => filesystem[field] !== undefined);
    if ((format === undefined || format === "") && hasOthers) {
      this.error(filesystem, "format", "format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions are specified");
    }
  }

  disk(disk: IgnObject): void {
    this.absolutePath(disk, "device", true);
    for (const partition of objects(disk.partitions)) {
      const label = str(partition, "label");
      if (label !== undefined && label.length > 36) this.error(partition, "label", "partition labels may not exceed 36 characters");
      if (label?.includes(":")) this.warning(partition, "label", "partition label will be truncated to text before the colon");
      for (const field of ["guid", "typeGuid"]) {
        const value = str(partition, field);
        if (value !== undefined && value !== "" && !GUID.test(value)) {
          this.error(partition, field, 'doesn\'t match the form "01234567-89AB-CDEF-EDCB-A98765432101"');
        }
      }
      const number = num(partition, "number") ?? 0;
      if (number < 0) this.error(partition, "number", "partition number must be non-negative");
      if (partition.shouldExist === false && number === 0) {
        this.error(partition, "number", "partition number is required when shouldExist is false");
      }
    }
  }

  raid(raid: IgnObject): void {
    if ((str(raid, "name") ?? "") === "") this.error(raid, "name", "raid name is required");
    const level = str(raid, "level");
    if ((level !== undefined || this.spec.ignitionMinor <= 3) && !RAID_LEVELS.has(level ?? "")) {
      this.error(raid, "level", "unrecognized raid level");
    }
    if ((num(raid, "spares") ?? 0) > 0 && (level === "linear" || level === "raid0" || level === "0" || level === "stripe")) {
      this.error(raid, "spares", "spares unsupported for linear and raid0 arrays");
    }
    const devices = raid.devices;
    if (Array.isArray(devices)) {
      devices.forEach((device, index) => {
        if (typeof device !== "string" || !device.startsWith("/")) {
          this.report.error([...this.pathOf(raid, "devices"), index], "path not absolute");
        }
      });
    }
  }

  proxy(proxy: IgnObject): void {
    for (const field of ["httpProxy", "httpsProxy"]) {
      const value = str(proxy, field);
      if (value === undefined) continue;
      const protocol = URL.canParse(value) ? new URL(value).protocol : undefined;
      if (protocol !== "http:" && protocol !== "https:") {
        this.error(proxy, field, "proxy URL must use http or https");
      } else if (field === "httpsProxy" && protocol === "http:") {
        this.warning(proxy, field, "insecure plaintext HTTP proxy specified for HTTPS resources");
      }
    }
  }

  /** Ignition's ValidateDups: list entries with the same key (lists in one key group share a key space). */
  duplicates(value: IgnObject, type: IgnTypeName): void {
    const seenByGroup = new Map<string, Set<string>>();
    for (const field of this.schema[type].fields) {
      const fieldValue = value[field.name];
      if (field.kind === "object") {
        if (isObject(fieldValue)) this.duplicates(fieldValue, field.type);
        continue;
      }
      if (field.kind !== "list" || !Array.isArray(fieldValue)) continue;
      const itemType = field.item;
      const isScalarList = itemType === "string" || itemType === "int" || itemType === "bool";
      if (!field.concatenate) {
        const group = field.keyGroup ?? field.name;
        const seen = seenByGroup.get(group) ?? new Set<string>();
        seenByGroup.set(group, seen);
        fieldValue.forEach((item, index) => {
          const key = isScalarList ? String(item) : isObject(item) ? (this.schema[itemType as IgnTypeName].key?.(item) ?? "") : "";
          if (!isScalarList && key === "") return;
          if (seen.has(key)) {
            const itemPath = isObject(item) && yamlOrigin.has(item) ? this.pathOf(item) : [...this.pathOf(value, field.name), index];
            this.report.error(itemPath, "duplicate entry defined");
          }
          seen.add(key);
        });
      }
      if (!isScalarList) {
        for (const item of fieldValue) if (isObject(item)) this.duplicates(item, itemType as IgnTypeName);
      }
    }
  }

  config(config: IgnObject): void {
    const ignition = isObject(config.ignition) ? config.ignition : {};
    const configSection = ignition.config;
    if (isObject(configSection)) {
      for (const merge of objects(configSection.merge)) this.resource(merge, true);
      const replace = configSection.replace;
      if (isObject(replace) && Object.keys(replace).length > 0) this.resource(replace, true);
    }
    const security = ignition.security;
    const tls = isObject(security) ? security.tls : undefined;
    if (isObject(tls)) for (const authority of objects(tls.certificateAuthorities)) this.resource(authority, true);
    const proxy = ignition.proxy;
    if (isObject(proxy)) this.proxy(proxy);

    const storage = isObject(config.storage) ? config.storage : {};
    for (const file of objects(storage.files)) {
      this.node(file);
      this.mode(file);
      const contents = file.contents;
      if (isObject(contents)) this.resource(contents, false);
      for (const fragment of objects(file.append)) this.resource(fragment, false);
      if (file.overwrite === true && !(isObject(contents) && str(contents, "source") !== undefined)) {
        this.error(file, "overwrite", "overwrite must be false if source is unspecified");
      }
    }
    for (const directory of objects(storage.directories)) {
      this.node(directory);
      this.mode(directory);
    }
    for (const link of objects(storage.links)) {
      this.node(link);
      const target = str(link, "target");
      if (target === undefined || target === "") this.error(link, "target", "link target is required");
      else if (link.hard === true && !target.startsWith("/")) this.error(link, "target", "path not absolute");
    }
    for (const disk of objects(storage.disks)) this.disk(disk);
    for (const filesystem of objects(storage.filesystems)) this.filesystem(filesystem);
    for (const raid of objects(storage.raid)) this.raid(raid);
    for (const luks of objects(storage.luks)) this.luks(luks);

    const systemd = isObject(config.systemd) ? config.systemd : {};
    for (const unit of objects(systemd.units)) this.unit(unit);

    const passwd = isObject(config.passwd) ? config.passwd : {};
    for (const entry of [...objects(passwd.users), ...objects(passwd.groups)]) {
      if ((str(entry, "name") ?? "") === "") this.error(entry, "name", "name is required");
    }

    this.duplicates(config, "Config");
  }
}

export function validateIgnition(config: IgnObject, spec: ButaneSpec, schema: IgnSchema, report: DiagnosticReport): void {
  new Checker(spec, schema, report).config(config);
}
