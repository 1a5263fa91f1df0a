/**
 * Ignition's semantic validation of the generated config, ported from Ignition v2.26.0 (the version Butane
 * v0.28.0 builds with): every `Validate` method of config/v3_N/types, config/validate.ValidateDups, and
 * Butane's FieldFilters. Findings are reported against the YAML paths the objects came from, as Butane's
 * translation set does; a JSON field maps to its snake_case YAML name.
 */
import type { DiagnosticReport, PathSegment } from "./diagnostics.ts";
import { byteLength } from "./encoding.ts";
import { cleanPath, dataUrlDecodes, goParseUrl, joinPath, parseUnitContents, pathExt, queryValues, type UnitOption } from "./go-compat.ts";
import { type IgnObject, type IgnSchema, type IgnTypeName, type IgnValue, isEmptyObject, yamlOrigin } from "./ignition-model.ts";
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
const GUID = /^(|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
const FILESYSTEM_LABEL_LIMITS: Readonly<Record<string, [number, string]>> = {
  ext4: [16, "filesystem labels cannot be longer than 16 characters when using ext4"],
  btrfs: [256, "filesystem labels cannot be longer than 256 characters when using btrfs"],
  xfs: [12, "filesystem labels cannot be longer than 12 characters when using xfs"],
  swap: [15, "filesystem labels cannot be longer than 15 characters when using swap"],
  vfat: [11, "filesystem labels cannot be longer than 11 characters when using vfat"],
};

export function snake(jsonName: string): string {
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

function nilOrEmpty(value: string | undefined): boolean {
  return value === undefined || value === "";
}

function child(object: IgnObject | undefined, field: string): IgnObject {
  const value = object?.[field];
  return isObject(value) ? value : {};
}

/** Ignition's validatePath: set, absolute and already clean. */
function pathError(path: string): string | undefined {
  if (path === "") return "path not specified";
  if (!path.startsWith("/")) return "path not absolute";
  if (cleanPath(path) !== path) return "path is not fully simplified";
  return undefined;
}

class Checker {
  constructor(
    private readonly minor: number,
    private readonly schema: IgnSchema,
    private readonly report: DiagnosticReport,
  ) {}

  private pathOf(object: IgnObject, field?: string): PathSegment[] {
    const origin = yamlOrigin.get(object) ?? [];
    return field === undefined ? [...origin] : [...origin, ...field.split(".").map(snake)];
  }

  error(object: IgnObject, field: string | undefined, message: string | undefined): void {
    if (message !== undefined) this.report.error(this.pathOf(object, field), message);
  }

  warning(object: IgnObject, field: string | undefined, message: string): void {
    this.report.warning(this.pathOf(object, field), message);
  }

  /** Ignition's validateURL: which sources parse and have a scheme Ignition can fetch. */
  urlError(url: string): string | undefined {
    const parsed = goParseUrl(url);
    if (!parsed) return "unable to parse url";
    const schemes = ["http", "https", "tftp", ...(this.minor >= 2 ? ["gs"] : [])];
    if (schemes.includes(parsed.scheme)) return undefined;
    switch (parsed.scheme) {
      case "s3": {
        if (this.minor >= 4) return this.versionIdError(parsed.rawQuery);
        return undefined;
      }
      case "arn":
        if (this.minor < 4) return "invalid url scheme";
        return this.arnError(`arn:${parsed.opaque}`, parsed.rawQuery);
      case "data":
        return dataUrlDecodes(url) ? undefined : "invalid data url";
      default:
        return "invalid url scheme";
    }
  }

  private versionIdError(rawQuery: string): string | undefined {
    const values = queryValues(rawQuery, "versionId");
    if (values !== undefined && (values.length === 0 || values[0] === "")) return "invalid S3 object VersionId";
    return undefined;
  }

  /** aws-sdk's arn.IsARN/Parse plus Ignition's S3 shape checks. */
  private arnError(full: string, rawQuery: string): string | undefined {
    if (!full.startsWith("arn:") || full.split(":").length - 1 < 5) return "invalid S3 ARN format";
    const sections = full.split(":");
    const [, partition = "", service = "", , , ...resourceParts] = sections;
    const resource = resourceParts.join(":");
    if (partition === "" || service === "" || resource === "") return "invalid S3 ARN format";
    if (service !== "s3") return "invalid S3 ARN format";
    const slashParts = full.split("/");
    if (resource.startsWith("accesspoint/") ? slashParts.length < 3 : slashParts.length < 2) return "invalid S3 ARN format";
    return this.versionIdError(rawQuery);
  }

  urlNilOk(object: IgnObject, field: string, reportField = field): void {
    const value = str(object, field);
    if (nilOrEmpty(value)) return;
    this.error(object, reportField, this.urlError(value ?? ""));
  }

  requiredSource(resource: IgnObject, at: IgnObject, field: string | undefined): void {
    const source = str(resource, "source");
    if (nilOrEmpty(source)) this.error(at, field, "source is required");
    else this.error(at, field, this.urlError(source ?? ""));
  }

  /** Resource.Validate (3.1+), FileContents/ConfigReference (3.0). */
  resource(resource: IgnObject, kind: "file" | "config" | "ca"): void {
    if (this.minor === 0) {
      if (kind === "ca") {
        this.error(resource, "source", this.urlError(str(resource, "source") ?? ""));
        return;
      }
      if (kind === "file") {
        this.compression(resource);
        if (str(child(resource, "verification"), "hash") !== undefined && str(resource, "source") === undefined) {
          this.error(resource, "verification.hash", "source must be specified if verification is specified");
        }
      }
      this.urlNilOk(resource, "source");
      this.verification(child(resource, "verification"), resource);
      return;
    }
    this.compression(resource);
    if (str(child(resource, "verification"), "hash") !== undefined && str(resource, "source") === undefined) {
      this.error(resource, "verification.hash", "source must be specified if verification is specified");
    }
    this.urlNilOk(resource, "source");
    const headers = objects(resource.httpHeaders);
    if (headers.length > 0) {
      const source = str(resource, "source");
      const parsed = nilOrEmpty(source) ? undefined : goParseUrl(source ?? "");
      if (!parsed) this.error(resource, "httpHeaders", "unable to parse url");
      else if (parsed.scheme !== "http" && parsed.scheme !== "https") this.error(resource, "httpHeaders", "cannot use HTTP headers with this source scheme");
    }
    for (const header of headers) {
      if ((str(header, "name") ?? "") === "") this.error(header, "name", "HTTP header name can't be empty");
      if (str(header, "value") === "") this.error(header, "value", "unable to parse HTTP header");
    }
    this.verification(child(resource, "verification"), resource);
  }

  compression(resource: IgnObject): void {
    const compression = str(resource, "compression");
    if (compression !== undefined && compression !== "" && compression !== "gzip") this.error(resource, "compression", "invalid compression method");
  }

  verification(verification: IgnObject, owner: IgnObject): void {
    const hash = str(verification, "hash");
    if (hash === undefined) return;
    const at = yamlOrigin.has(verification) ? verification : owner;
    const field = at === verification ? "hash" : "verification.hash";
    const separator = hash.indexOf("-");
    if (separator < 0) {
      this.error(at, field, "malformed hash specifier");
      return;
    }
    const algorithm = hash.slice(0, separator);
    const sizes: Record<string, number> = this.minor >= 1 ? { sha512: 128, sha256: 64 } : { sha512: 128 };
    const size = sizes[algorithm];
    if (size === undefined) this.error(at, field, "unrecognized hash function");
    else if (byteLength(hash.slice(separator + 1)) !== size) this.error(at, field, "incorrect size for hash sum");
  }

  mode(node: IgnObject): void {
    const mode = num(node, "mode");
    if (mode === undefined) return;
    if (mode < 0 || mode > 0o7777) this.error(node, "mode", "illegal file mode");
    // Ignition < 3.6 cannot apply setuid/setgid/sticky bits (uint32 conversion, as in Go).
    if (this.minor <= 5 && ((mode >>> 0) & 0o7000) !== 0) {
      this.warning(node, "mode", "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0");
    }
  }

  node(node: IgnObject): void {
    this.error(node, "path", pathError(str(node, "path") ?? ""));
    for (const ownerField of ["user", "group"]) {
      const owner = node[ownerField];
      if (isObject(owner) && num(owner, "id") !== undefined && !nilOrEmpty(str(owner, "name"))) {
        this.error(owner, undefined, "cannot set both id and name");
      }
    }
  }

  unitContents(owner: IgnObject): UnitOption[] | undefined {
    const contents = str(owner, "contents");
    if (contents === undefined) return [];
    const parsed = parseUnitContents(contents);
    if ("error" in parsed) {
      this.error(owner, "contents", `invalid unit content: ${parsed.error}`);
      return undefined;
    }
    return parsed.options;
  }

  unit(unit: IgnObject): void {
    const name = str(unit, "name") ?? "";
    if (!UNIT_EXTENSIONS.has(pathExt(name))) this.error(unit, "name", "invalid systemd unit extension");
    const options = this.unitContents(unit);
    if (unit.enabled === true && !nilOrEmpty(str(unit, "contents")) && options !== undefined && !options.some((option) => option.section === "Install")) {
      this.warning(unit, "contents", `unit ${JSON.stringify(name)} is enabled, but has no install section so enable does nothing`);
    }
    for (const dropin of objects(unit.dropins)) {
      this.unitContents(dropin);
      if (pathExt(str(dropin, "name") ?? "") !== ".conf") this.error(dropin, "name", "invalid systemd drop-in extension");
    }
  }

  systemd(systemd: IgnObject): void {
    const units = objects(systemd.units);
    const byName = new Map<string, IgnObject>();
    for (const unit of units) byName.set(str(unit, "name") ?? "", unit);
    for (const unit of units) {
      this.unit(unit);
      const match = /^(.+?)@(.+?)\.service$/.exec(str(unit, "name") ?? "");
      if (!match || unit.enabled !== true) continue;
      const template = `${match[1]}@.service`;
      const templateUnit = byName.get(template);
      const contents = str(templateUnit, "contents");
      if (!templateUnit || nilOrEmpty(contents)) continue;
      const parsed = parseUnitContents(contents ?? "");
      if ("error" in parsed) continue;
      if (!parsed.options.some((option) => option.section === "Install")) {
        this.warning(unit, "contents", `template unit ${JSON.stringify(template)} for ${JSON.stringify(str(unit, "name"))} doesn't have Install section`);
      }
    }
  }

  luks(luks: IgnObject): void {
    const name = str(luks, "name") ?? "";
    if (name.includes("/")) this.error(luks, "name", "device names cannot contain slashes");
    const label = str(luks, "label");
    if (!nilOrEmpty(label) && byteLength(label ?? "") > 47) this.error(luks, "label", "luks device labels cannot be longer than 47 characters");
    const device = str(luks, "device");
    if (nilOrEmpty(device)) this.error(luks, "device", "disk device is required");
    else this.error(luks, "device", pathError(device ?? ""));
    const clevis = luks.clevis;
    const clevisObject = isObject(clevis) ? clevis : undefined;
    const custom = child(clevisObject, "custom");
    const tang = objects(clevisObject?.tang);
    const threshold = num(clevisObject, "threshold");
    const others = tang.length > 0 || clevisObject?.tpm2 === true || (threshold !== undefined && threshold !== 0);
    if (this.minor === 2) {
      if (clevisObject && isObject(clevisObject.custom) && others) this.error(luks, "clevis", "cannot use custom clevis config with tpm2, tang, or threshold");
    } else if (!nilOrEmpty(str(custom, "pin")) && others) {
      this.error(luks, "clevis", "cannot use custom clevis config with tpm2, tang, or threshold");
    }
    const keyFile = child(luks, "keyFile");
    const keySource = str(keyFile, "source");
    if (!nilOrEmpty(keySource) && this.urlError(keySource ?? "") !== undefined) this.error(luks, "keys", "invalid key-file source");
    this.resource(keyFile, "file");
    if (clevisObject) this.clevis(clevisObject);
    if (this.minor >= 5) {
      const clevisPresent = !nilOrEmpty(str(custom, "pin")) || others;
      const cexPresent = child(luks, "cex").enabled === true;
      if (clevisPresent && cexPresent) this.error(luks, "cex", "cannot use cex with clevis");
      if (cexPresent && !nilOrEmpty(keySource)) this.error(luks, "cex", "cannot use key file with cex");
    }
  }

  clevis(clevis: IgnObject): void {
    const custom = clevis.custom;
    if (isObject(custom)) {
      const pin = str(custom, "pin");
      const config = str(custom, "config");
      if (this.minor === 2) {
        if ((pin ?? "") !== "" || (config ?? "") !== "") {
          if (!["tpm2", "tang", "sss"].includes(pin ?? "")) this.error(custom, "pin", "unsupported clevis pin");
          if ((config ?? "") === "") this.error(custom, "config", "missing required custom clevis config");
        }
      } else if (!nilOrEmpty(pin) || !nilOrEmpty(config) || custom.needsNetwork === true) {
        if (nilOrEmpty(pin)) this.error(custom, "pin", "missing required custom clevis pin");
        else if (this.minor <= 5 && !["tpm2", "tang", "sss"].includes(pin ?? "")) this.error(custom, "pin", "unsupported clevis pin");
        if (nilOrEmpty(config)) this.error(custom, "config", "missing required custom clevis config");
      }
    }
    for (const server of objects(clevis.tang)) {
      const parsed = goParseUrl(str(server, "url") ?? "");
      if (!parsed) this.error(server, "url", "unable to parse url");
      else if (parsed.scheme !== "http" && parsed.scheme !== "https") this.error(server, "url", "invalid url scheme");
      if (nilOrEmpty(str(server, "thumbprint"))) this.error(server, "thumbprint", "thumbprint is required");
      const advertisement = str(server, "advertisement");
      if (this.minor >= 4 && !nilOrEmpty(advertisement)) {
        try {
          JSON.parse(advertisement ?? "");
        } catch {
          this.error(server, "advertisement", "advertisement is not valid JSON");
        }
      }
    }
  }

  filesystem(filesystem: IgnObject): void {
    const path = str(filesystem, "path");
    if (!nilOrEmpty(path)) this.error(filesystem, "path", pathError(path ?? ""));
    this.error(filesystem, "device", pathError(str(filesystem, "device") ?? ""));
    const format = str(filesystem, "format");
    const formats = ["ext4", "btrfs", "xfs", "swap", "vfat", ...(this.minor >= 3 ? ["none"] : [])];
    if (nilOrEmpty(format)) {
      const others =
        !nilOrEmpty(path) ||
        !nilOrEmpty(str(filesystem, "label")) ||
        !nilOrEmpty(str(filesystem, "uuid")) ||
        filesystem.wipeFilesystem === true ||
        (this.minor >= 1 && objectsOrStrings(filesystem.mountOptions) > 0) ||
        objectsOrStrings(filesystem.options) > 0;
      if (others) {
        this.error(filesystem, "format", "format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions is specified");
      }
    } else if (!formats.includes(format ?? "")) {
      this.error(filesystem, "format", "invalid filesystem format");
    }
    const label = str(filesystem, "label");
    if (!nilOrEmpty(label)) {
      if (nilOrEmpty(format)) this.error(filesystem, "label", "filesystem must specify format if label is specified");
      else {
        const limit = FILESYSTEM_LABEL_LIMITS[format ?? ""];
        if (limit && byteLength(label ?? "") > limit[0]) this.error(filesystem, "label", limit[1]);
      }
    }
  }

  disk(disk: IgnObject): void {
    const device = str(disk, "device") ?? "";
    const partitions = objects(disk.partitions);
    for (const partition of partitions) this.partition(partition);
    if (device === "") {
      this.error(disk, "device", "disk device is required");
      return;
    }
    this.error(disk, "device", pathError(device));
    const partitionPath = (index: number): PathSegment[] => {
      const entry = partitions[index];
      return entry && yamlOrigin.has(entry) ? this.pathOf(entry) : [...this.pathOf(disk, "partitions"), index];
    };
    // partitionNumbersCollide: Go iterates a map, so which collision is named is arbitrary; any one refuses.
    const byNumber = new Map<number, number[]>();
    partitions.forEach((partition, index) => {
      const number = num(partition, "number") ?? 0;
      if (number !== 0) byNumber.set(number, [...(byNumber.get(number) ?? []), index]);
    });
    for (const indexes of byNumber.values()) {
      if (indexes.length > 1) {
        this.report.error(partitionPath(indexes[1] ?? 0), "partition numbers collide");
        break;
      }
    }
    const overlap = this.partitionsOverlap(partitions);
    if (overlap !== undefined) this.report.error(partitionPath(overlap), "partitions overlap");
    const hasZero = partitions.some((partition) => (num(partition, "number") ?? 0) === 0);
    const hasShouldNotExist = partitions.some((partition) => partition.shouldExist === false);
    if (hasZero && hasShouldNotExist) {
      this.error(disk, "partitions", "shouldExist is false for a partition and other partition(s) has start or size 0");
    }
    const labels = new Set<string>();
    for (const [index, partition] of partitions.entries()) {
      const label = str(partition, "label");
      if (label === undefined) continue;
      if (labels.has(label)) {
        this.report.error(partitionPath(index), "cannot use the same partition label twice");
        break;
      }
      labels.add(label);
    }
  }

  private partitionsOverlap(partitions: IgnObject[]): number | undefined {
    const end = (partition: IgnObject): number => {
      const start = num(partition, "startMiB") ?? 0;
      const size = num(partition, "sizeMiB") ?? 0;
      return size === 0 ? start : start + size - 1;
    };
    for (const p of partitions) {
      const pStart = num(p, "startMiB");
      if (pStart === undefined || num(p, "sizeMiB") === undefined || pStart === 0) continue;
      for (const [index, o] of partitions.entries()) {
        const oStart = num(o, "startMiB");
        if (oStart === undefined || num(o, "sizeMiB") === undefined || o === p || oStart === 0) continue;
        if (pStart >= oStart && pStart <= end(o)) return index;
        if (end(p) >= oStart && end(p) <= end(o)) return index;
        if (pStart < oStart && end(p) > end(o)) return index;
      }
    }
    return undefined;
  }

  partition(partition: IgnObject): void {
    const label = str(partition, "label");
    if (
      partition.shouldExist === false &&
      (label !== undefined ||
        !nilOrEmpty(str(partition, "typeGuid")) ||
        !nilOrEmpty(str(partition, "guid")) ||
        num(partition, "startMiB") !== undefined ||
        num(partition, "sizeMiB") !== undefined)
    ) {
      this.error(partition, undefined, "shouldExist specified false with other options also specified");
    }
    if ((num(partition, "number") ?? 0) === 0 && label === undefined) this.error(partition, undefined, "a partition number >= 1 or a label must be specified");
    if (label !== undefined) {
      if (byteLength(label) > 36) this.error(partition, "label", "partition labels may not exceed 36 characters");
      else if (label.includes(":")) this.error(partition, "label", "partition label will be truncated to text before the colon");
    }
    for (const field of ["guid", "typeGuid"]) {
      const value = str(partition, field);
      if (value !== undefined && !GUID.test(value)) this.error(partition, field, 'doesn\'t match the form "01234567-89AB-CDEF-EDCB-A98765432101"');
    }
  }

  raid(raid: IgnObject): void {
    const level = str(raid, "level");
    const spares = num(raid, "spares");
    let levelError: string | undefined;
    if (this.minor >= 3 && nilOrEmpty(level)) levelError = "raid level is required";
    else if (["linear", "raid0", "0", "stripe"].includes(level ?? "")) {
      if (spares !== undefined && spares !== 0) levelError = "spares unsupported for linear and raid0 arrays";
    } else if (!["raid1", "1", "mirror", "raid4", "4", "raid5", "5", "raid6", "6", "raid10", "10"].includes(level ?? "")) {
      levelError = "unrecognized raid level";
    }
    this.error(raid, "level", levelError);
    const devices = Array.isArray(raid.devices) ? raid.devices : [];
    if (devices.length === 0) this.error(raid, "devices", "raid devices required");
    devices.forEach((device, index) => {
      const message = pathError(typeof device === "string" ? device : "");
      if (message) this.report.error([...this.pathOf(raid, "devices"), index], message);
    });
  }

  proxy(proxy: IgnObject): void {
    for (const field of ["httpProxy", "httpsProxy"]) {
      const value = str(proxy, field);
      if (value === undefined) continue;
      const parsed = goParseUrl(value);
      if (!parsed) this.error(proxy, field, "unable to parse url");
      else if (parsed.scheme !== "http" && parsed.scheme !== "https") this.error(proxy, field, "proxies must be http(s)");
      else if (parsed.scheme === "http" && field === "httpsProxy") this.warning(proxy, field, "insecure plaintext HTTP proxy specified for HTTPS resources");
    }
  }

  storage(storage: IgnObject): void {
    const files = objects(storage.files);
    const directories = objects(storage.directories);
    const links = objects(storage.links);
    for (const file of files) {
      this.node(file);
      this.mode(file);
      if (file.overwrite === true && str(child(file, "contents"), "source") === undefined) {
        this.error(file, "overwrite", "overwrite must be false if source is unspecified");
      }
      this.resource(child(file, "contents"), "file");
      for (const fragment of objects(file.append)) this.resource(fragment, "file");
    }
    for (const directory of directories) {
      this.node(directory);
      this.mode(directory);
    }
    for (const link of links) this.node(link);
    const under = (path: string, link: IgnObject): boolean => path.startsWith(`${str(link, "path") ?? ""}/`);
    for (const directory of directories) {
      for (const link of links) if (under(str(directory, "path") ?? "", link)) this.error(directory, undefined, "directory path includes link in config");
    }
    for (const file of files) {
      for (const link of links) if (under(str(file, "path") ?? "", link)) this.error(file, undefined, "file path includes link in config");
    }
    for (const link of links) {
      for (const other of links) if (under(str(link, "path") ?? "", other)) this.error(link, undefined, "link path includes link in config");
      const target = str(link, "target");
      if (this.minor >= 3 && nilOrEmpty(target)) {
        this.error(link, "target", "link target is required");
        continue;
      }
      if (link.hard !== true) continue;
      let resolved = cleanPath(target ?? "");
      if (!resolved.startsWith("/")) resolved = joinPath(str(link, "path") ?? "", target ?? "");
      for (const directory of directories) if (resolved === str(directory, "path")) this.error(link, undefined, "hard link target is a directory");
      for (const [ownerField, field] of [
        ["user", "id"],
        ["user", "name"],
        ["group", "id"],
        ["group", "name"],
      ] as const) {
        if (child(link, ownerField)[field] !== undefined) this.warning(link, `${ownerField}.${field}`, "user/group ignored for hard link");
      }
    }
    const disks = new Map<string, IgnObject>();
    for (const disk of objects(storage.disks)) disks.set(str(disk, "device") ?? "", disk);
    for (const disk of objects(storage.disks)) this.disk(disk);
    for (const filesystem of objects(storage.filesystems)) {
      this.filesystem(filesystem);
      const disk = disks.get(str(filesystem, "device") ?? "");
      if (!disk) continue;
      if (objects(disk.partitions).length > 0) this.warning(filesystem, "device", "filesystem overwrites partitioned device");
      else if (filesystem.wipeFilesystem !== true && disk.wipeTable === true) {
        this.warning(filesystem, "device", "device matches disk with wipeTable enabled; filesystem will be wiped");
      }
    }
    for (const raid of objects(storage.raid)) this.raid(raid);
    for (const luks of objects(storage.luks)) this.luks(luks);
  }

  /** Config.Validate: no storage node where a unit or dropin with contents is written. */
  systemdPathConflicts(config: IgnObject): void {
    const unitPaths = new Set<string>();
    for (const unit of objects(child(config, "systemd").units)) {
      const name = str(unit, "name") ?? "";
      if (!nilOrEmpty(str(unit, "contents"))) unitPaths.add(`/etc/systemd/system/${name}`);
      for (const dropin of objects(unit.dropins)) {
        if (!nilOrEmpty(str(dropin, "contents"))) unitPaths.add(`/etc/systemd/system/${name}.d/${str(dropin, "name") ?? ""}`);
      }
    }
    const storage = child(config, "storage");
    for (const list of ["files", "directories", "links"]) {
      for (const node of objects(storage[list])) {
        if (unitPaths.has(str(node, "path") ?? "")) this.error(node, "path", "path conflicts with systemd unit or dropin");
      }
    }
  }

  /** Ignition's ValidateDups: list entries with the same key (lists in one key group share a key space). */
  duplicates(value: IgnObject, type: IgnTypeName): void {
    const seenByGroup = new Map<string, Set<string>>();
    for (const field of this.schema[type].fields) {
      const fieldValue = value[field.name];
      if (field.kind === "object") {
        this.duplicates(isObject(fieldValue) ? fieldValue : {}, field.type);
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
    const ignition = child(config, "ignition");
    const configSection = child(ignition, "config");
    for (const merge of objects(configSection.merge)) {
      if (this.minor >= 1) this.requiredSource(merge, merge, undefined);
      this.resource(merge, "config");
    }
    this.resource(child(configSection, "replace"), "config");
    const tls = child(child(ignition, "security"), "tls");
    for (const authority of objects(tls.certificateAuthorities)) {
      if (this.minor >= 1) this.requiredSource(authority, authority, undefined);
      this.resource(authority, "ca");
    }
    if (this.minor >= 1) this.proxy(child(ignition, "proxy"));
    this.storage(child(config, "storage"));
    this.systemd(child(config, "systemd"));
    this.systemdPathConflicts(config);
    this.duplicates(config, "Config");
  }
}

function objectsOrStrings(value: IgnValue | undefined): number {
  return Array.isArray(value) ? value.length : 0;
}

export function validateIgnition(config: IgnObject, spec: ButaneSpec, schema: IgnSchema, report: DiagnosticReport): void {
  new Checker(spec.ignitionMinor, schema, report).config(config);
}

/** Validates an embedded (merge/replace) Ignition config with the same rules, for Butane's inline config check. */
export function validateEmbeddedIgnition(config: IgnObject, minor: number, schema: IgnSchema, report: DiagnosticReport): void {
  new Checker(minor, schema, report).config(config);
}

/**
 * Butane's FieldFilters.Verify: a filtered field (e.g. `storage.luks.clevis` on flatcar) that is non-empty
 * anywhere in the generated config is an error at that field.
 */
export function applyFilters(config: IgnObject, spec: ButaneSpec, schema: IgnSchema, report: DiagnosticReport): void {
  for (const [filter, message] of Object.entries(spec.filters)) {
    const segments = filter.split(".");
    const visit = (value: IgnValue | undefined, type: IgnTypeName, depth: number, owner: IgnObject): void => {
      if (!isObject(value)) return;
      const fieldName = segments[depth] ?? "";
      const field = schema[type].fields.find((candidate) => candidate.name === fieldName);
      if (!field) return;
      const fieldValue = value[fieldName];
      if (depth === segments.length - 1) {
        const empty =
          fieldValue === undefined ||
          (Array.isArray(fieldValue) && fieldValue.length === 0) ||
          (field.kind === "object" && isObject(fieldValue) && isEmptyObject(fieldValue, field.type, schema));
        if (!empty) report.error([...(yamlOrigin.get(value) ?? yamlOrigin.get(owner) ?? []), snake(fieldName)], message);
        return;
      }
      if (field.kind === "object") visit(fieldValue, field.type, depth + 1, value);
      else if (field.kind === "list" && Array.isArray(fieldValue) && typeof field.item === "string" && field.item in schema) {
        for (const item of fieldValue) visit(item, field.item as IgnTypeName, depth + 1, value);
      }
    };
    visit(config, "Config", 0, config);
  }
}
