/**
 * Butane's "base" translation (coreos/butane base/v0_N/translate.go): YAML sections map field by field to
 * Ignition, inline contents become data URLs, and `with_mount_unit` filesystems get generated mount/swap
 * units merged under the user's units. Anything that needs files on the translating machine is an error.
 */
import type { DiagnosticReport } from "./diagnostics.ts";
import { makeDataUrl, makePercentDataUrl, unitNamePathEscape, utf8Bytes } from "./encoding.ts";
import { type IgnObject, type IgnSchema, type IgnValue, mergeObjects, withOrigin } from "./ignition-model.ts";
import type { ButaneSpec } from "./spec.ts";
import { type DecodedObject, getBool, getInt, getList, getObject, getObjects, getString, getStrings } from "./yaml-decode.ts";

export interface TranslateContext {
  readonly spec: ButaneSpec;
  readonly schema: IgnSchema;
  readonly report: DiagnosticReport;
}

const NO_FILES_DIRECTORY =
  "needs a local file, but Butane secrets are translated on the server, which has no files directory (-d/--files-dir); inline the contents instead";

/** Sets `target[jsonName]` when the value is defined (a Go nil pointer stays absent). */
function put(target: IgnObject, jsonName: string, value: IgnValue | undefined): void {
  if (value !== undefined) target[jsonName] = value;
}

function copyScalars(from: DecodedObject | undefined, to: IgnObject, mapping: Readonly<Record<string, string>>): void {
  if (!from) return;
  for (const [yamlName, jsonName] of Object.entries(mapping)) {
    const value = from.fields.get(yamlName);
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") to[jsonName] = value;
  }
}

function copyStringList(from: DecodedObject | undefined, yamlName: string, to: IgnObject, jsonName: string): void {
  const values = getStrings(from, yamlName);
  if (values !== undefined) to[jsonName] = values;
}

function objectOrUndefined(value: IgnObject): IgnObject | undefined {
  return Object.keys(value).length > 0 ? value : undefined;
}

function translateResource(resource: DecodedObject | undefined, context: TranslateContext): IgnObject | undefined {
  if (!resource) return undefined;
  const { spec, report } = context;
  const out = withOrigin<IgnObject>({}, resource.path);
  put(out, "compression", getString(resource, "compression"));
  const headers = getObjects(resource, "http_headers");
  if (getList(resource, "http_headers")) {
    out.httpHeaders = headers.map((header) => {
      const entry = withOrigin<IgnObject>({}, header.path);
      entry.name = getString(header, "name") ?? "";
      put(entry, "value", getString(header, "value"));
      return entry;
    });
  }
  put(out, "source", getString(resource, "source"));
  const verification = getObject(resource, "verification");
  if (verification) {
    const hash = getString(verification, "hash");
    if (hash !== undefined) out.verification = withOrigin({ hash }, verification.path);
  }

  if (getString(resource, "local") !== undefined) {
    report.error([...resource.path, "local"], `\`local\` ${NO_FILES_DIRECTORY}`);
  }
  const inline = getString(resource, "inline");
  if (inline !== undefined) {
    if (spec.ignitionMinor === 0) {
      out.source = makePercentDataUrl(utf8Bytes(inline));
    } else {
      out.source = makeDataUrl(utf8Bytes(inline));
      // Butane sets an explicit empty compression so a child config cannot inherit the parent's.
      const compression = getString(resource, "compression");
      if (compression === undefined || compression === "") out.compression = "";
    }
  }
  return out;
}

function translateNodeOwner(owner: DecodedObject | undefined): IgnObject | undefined {
  if (!owner) return undefined;
  const out = withOrigin<IgnObject>({}, owner.path);
  copyScalars(owner, out, { id: "id", name: "name" });
  return objectOrUndefined(out);
}

function translateNode(node: DecodedObject, out: IgnObject): void {
  put(out, "group", translateNodeOwner(getObject(node, "group")));
  copyScalars(node, out, { overwrite: "overwrite", path: "path" });
  put(out, "user", translateNodeOwner(getObject(node, "user")));
}

function translateIgnitionSection(section: DecodedObject | undefined, context: TranslateContext): IgnObject {
  const out = withOrigin<IgnObject>({}, section?.path ?? ["ignition"]);
  const config = getObject(section, "config");
  if (config) {
    const configOut = withOrigin<IgnObject>({}, config.path);
    if (getList(config, "merge")) {
      configOut.merge = getObjects(config, "merge").map((entry) => translateResource(entry, context) ?? {});
    }
    put(configOut, "replace", translateResource(getObject(config, "replace"), context));
    out.config = configOut;
  }
  const proxy = getObject(section, "proxy");
  if (proxy) {
    const proxyOut = withOrigin<IgnObject>({}, proxy.path);
    copyScalars(proxy, proxyOut, { http_proxy: "httpProxy", https_proxy: "httpsProxy" });
    copyStringList(proxy, "no_proxy", proxyOut, "noProxy");
    out.proxy = proxyOut;
  }
  const tls = getObject(getObject(section, "security"), "tls");
  if (tls && getList(tls, "certificate_authorities")) {
    const authorities = getObjects(tls, "certificate_authorities").map((entry) => translateResource(entry, context) ?? {});
    out.security = { tls: withOrigin({ certificateAuthorities: authorities }, tls.path) };
  }
  const timeouts = getObject(section, "timeouts");
  if (timeouts) {
    const timeoutsOut = withOrigin<IgnObject>({}, timeouts.path);
    copyScalars(timeouts, timeoutsOut, { http_response_headers: "httpResponseHeaders", http_total: "httpTotal" });
    out.timeouts = timeoutsOut;
  }
  out.version = context.spec.ignitionVersion;
  return out;
}

function translatePasswd(passwd: DecodedObject | undefined, context: TranslateContext): IgnObject | undefined {
  if (!passwd) return undefined;
  const out = withOrigin<IgnObject>({}, passwd.path);
  if (getList(passwd, "groups")) {
    out.groups = getObjects(passwd, "groups").map((group) => {
      const entry = withOrigin<IgnObject>({}, group.path);
      copyScalars(group, entry, {
        gid: "gid",
        name: "name",
        password_hash: "passwordHash",
        should_exist: "shouldExist",
        system: "system",
      });
      return entry;
    });
  }
  if (getList(passwd, "users")) {
    out.users = getObjects(passwd, "users").map((user) => {
      const entry = withOrigin<IgnObject>({}, user.path);
      copyScalars(user, entry, {
        gecos: "gecos",
        home_dir: "homeDir",
        name: "name",
        no_create_home: "noCreateHome",
        no_log_init: "noLogInit",
        no_user_group: "noUserGroup",
        password_hash: "passwordHash",
        primary_group: "primaryGroup",
        shell: "shell",
        should_exist: "shouldExist",
        system: "system",
        uid: "uid",
      });
      copyStringList(user, "groups", entry, "groups");
      copyStringList(user, "ssh_authorized_keys", entry, "sshAuthorizedKeys");
      if ((getList(user, "ssh_authorized_keys_local")?.items.length ?? 0) > 0) {
        context.report.error([...user.path, "ssh_authorized_keys_local"], `\`ssh_authorized_keys_local\` ${NO_FILES_DIRECTORY}`);
      }
      return entry;
    });
  }
  return out;
}

function translateStorage(storage: DecodedObject | undefined, context: TranslateContext): IgnObject | undefined {
  if (!storage) return undefined;
  const out = withOrigin<IgnObject>({}, storage.path);

  if (getList(storage, "directories")) {
    out.directories = getObjects(storage, "directories").map((directory) => {
      const entry = withOrigin<IgnObject>({}, directory.path);
      translateNode(directory, entry);
      put(entry, "mode", getInt(directory, "mode"));
      return entry;
    });
  }
  if (getList(storage, "disks")) {
    out.disks = getObjects(storage, "disks").map((disk) => {
      const entry = withOrigin<IgnObject>({}, disk.path);
      entry.device = getString(disk, "device") ?? "";
      if (getList(disk, "partitions")) {
        entry.partitions = getObjects(disk, "partitions").map((partition) => {
          const partitionOut = withOrigin<IgnObject>({}, partition.path);
          copyScalars(partition, partitionOut, {
            guid: "guid",
            label: "label",
            number: "number",
            resize: "resize",
            should_exist: "shouldExist",
            size_mib: "sizeMiB",
            start_mib: "startMiB",
            type_guid: "typeGuid",
            wipe_partition_entry: "wipePartitionEntry",
          });
          return partitionOut;
        });
      }
      put(entry, "wipeTable", getBool(disk, "wipe_table"));
      return entry;
    });
  }
  if (getList(storage, "files")) {
    out.files = getObjects(storage, "files").map((file) => {
      const entry = withOrigin<IgnObject>({}, file.path);
      translateNode(file, entry);
      if (getList(file, "append")) {
        entry.append = getObjects(file, "append").map((fragment) => translateResource(fragment, context) ?? {});
      }
      const contents = translateResource(getObject(file, "contents"), context);
      if (contents) entry.contents = contents;
      put(entry, "mode", getInt(file, "mode"));
      return entry;
    });
  }
  if (getList(storage, "filesystems")) {
    out.filesystems = getObjects(storage, "filesystems").map((filesystem) => {
      const entry = withOrigin<IgnObject>({}, filesystem.path);
      entry.device = getString(filesystem, "device") ?? "";
      copyScalars(filesystem, entry, { format: "format", label: "label" });
      copyStringList(filesystem, "mount_options", entry, "mountOptions");
      copyStringList(filesystem, "options", entry, "options");
      copyScalars(filesystem, entry, { path: "path", uuid: "uuid", wipe_filesystem: "wipeFilesystem" });
      return entry;
    });
  }
  if (getList(storage, "links")) {
    out.links = getObjects(storage, "links").map((link) => {
      const entry = withOrigin<IgnObject>({}, link.path);
      translateNode(link, entry);
      copyScalars(link, entry, { hard: "hard", target: "target" });
      return entry;
    });
  }
  if (getList(storage, "luks")) {
    out.luks = getObjects(storage, "luks").map((luks) => {
      const entry = withOrigin<IgnObject>({}, luks.path);
      const cex = getObject(luks, "cex");
      if (cex) {
        const cexOut = withOrigin<IgnObject>({}, cex.path);
        put(cexOut, "enabled", getBool(cex, "enabled"));
        entry.cex = cexOut;
      }
      const clevis = getObject(luks, "clevis");
      if (clevis) entry.clevis = translateClevis(clevis);
      copyScalars(luks, entry, { device: "device", discard: "discard" });
      put(entry, "keyFile", translateResource(getObject(luks, "key_file"), context));
      copyScalars(luks, entry, { label: "label", name: "name" });
      copyStringList(luks, "open_options", entry, "openOptions");
      copyStringList(luks, "options", entry, "options");
      copyScalars(luks, entry, { uuid: "uuid", wipe_volume: "wipeVolume" });
      return entry;
    });
  }
  if (getList(storage, "raid")) {
    out.raid = getObjects(storage, "raid").map((raid) => {
      const entry = withOrigin<IgnObject>({}, raid.path);
      copyStringList(raid, "devices", entry, "devices");
      copyScalars(raid, entry, { level: "level", name: "name" });
      copyStringList(raid, "options", entry, "options");
      put(entry, "spares", getInt(raid, "spares"));
      return entry;
    });
  }
  getObjects(storage, "trees").forEach((tree) => {
    context.report.error(tree.path, `\`storage.trees\` ${NO_FILES_DIRECTORY}`);
  });
  return out;
}

export function translateTang(tang: DecodedObject): IgnObject {
  const entry = withOrigin<IgnObject>({}, tang.path);
  copyScalars(tang, entry, { advertisement: "advertisement", thumbprint: "thumbprint", url: "url" });
  return entry;
}

function translateClevis(clevis: DecodedObject): IgnObject {
  const out = withOrigin<IgnObject>({}, clevis.path);
  const custom = getObject(clevis, "custom");
  if (custom) {
    const customOut = withOrigin<IgnObject>({}, custom.path);
    copyScalars(custom, customOut, { config: "config", needs_network: "needsNetwork", pin: "pin" });
    out.custom = customOut;
  }
  if (getList(clevis, "tang")) out.tang = getObjects(clevis, "tang").map(translateTang);
  copyScalars(clevis, out, { threshold: "threshold", tpm2: "tpm2" });
  return out;
}

function translateSystemd(systemd: DecodedObject | undefined, context: TranslateContext): IgnObject | undefined {
  if (!systemd) return undefined;
  const out = withOrigin<IgnObject>({}, systemd.path);
  if (getList(systemd, "units")) {
    out.units = getObjects(systemd, "units").map((unit) => {
      const entry = withOrigin<IgnObject>({}, unit.path);
      put(entry, "contents", getString(unit, "contents"));
      if (getList(unit, "dropins")) {
        entry.dropins = getObjects(unit, "dropins").map((dropin) => {
          const dropinOut = withOrigin<IgnObject>({}, dropin.path);
          copyScalars(dropin, dropinOut, { contents: "contents", name: "name" });
          if ((getString(dropin, "contents_local") ?? "") !== "") {
            context.report.error([...dropin.path, "contents_local"], `\`contents_local\` ${NO_FILES_DIRECTORY}`);
          }
          return dropinOut;
        });
      }
      copyScalars(unit, entry, { enabled: "enabled", mask: "mask", name: "name" });
      // Butane reads contents_local only when it is non-empty.
      if ((getString(unit, "contents_local") ?? "") !== "") {
        context.report.error([...unit.path, "contents_local"], `\`contents_local\` ${NO_FILES_DIRECTORY}`);
      }
      return entry;
    });
  }
  return out;
}

function translateKernelArguments(kernelArguments: DecodedObject | undefined): IgnObject | undefined {
  if (!kernelArguments) return undefined;
  const out = withOrigin<IgnObject>({}, kernelArguments.path);
  copyStringList(kernelArguments, "should_exist", out, "shouldExist");
  copyStringList(kernelArguments, "should_not_exist", out, "shouldNotExist");
  return out;
}

/** Generated mount/swap unit text: Butane's mountUnitTemplate rendered without a trailing newline. */
export function mountUnitContents(options: {
  device: string;
  format: string;
  path: string | undefined;
  mountOptions: readonly string[];
  remote: boolean;
}): string {
  const optionValues = [...options.mountOptions, ...(options.remote ? ["_netdev"] : [])];
  const optionsLine = optionValues.length > 0 ? `\nOptions=${optionValues.join(",")}` : "";
  if (options.format === "swap") {
    return `# Generated by Butane\n[Swap]\nWhat=${options.device}${optionsLine}\n\n[Install]\nRequiredBy=swap.target`;
  }
  const escapedDevice = unitNamePathEscape(options.device);
  return (
    "# Generated by Butane\n[Unit]\n" +
    `Requires=systemd-fsck@${escapedDevice}.service\nAfter=systemd-fsck@${escapedDevice}.service\n\n` +
    `[Mount]\nWhere=${options.path ?? ""}\nWhat=${options.device}\nType=${options.format}${optionsLine}\n\n` +
    `[Install]\nRequiredBy=${options.remote ? "remote-fs.target" : "local-fs.target"}`
  );
}

function renderMountUnits(storage: DecodedObject | undefined): IgnObject[] {
  const units: IgnObject[] = [];
  const luksDevices = getObjects(storage, "luks");
  for (const filesystem of getObjects(storage, "filesystems")) {
    if (getBool(filesystem, "with_mount_unit") !== true) continue;
    const device = getString(filesystem, "device") ?? "";
    const format = getString(filesystem, "format") ?? "";
    const path = getString(filesystem, "path");
    // A filesystem on a Tang-bound LUKS volume needs the network, so it mounts after remote-fs.
    let remote = false;
    if (device.startsWith("/dev/mapper/") || device.startsWith("/dev/disk/by-id/dm-name-")) {
      remote = luksDevices.some((luks) => {
        const name = getString(luks, "name") ?? "";
        const matches = device === `/dev/mapper/${name}` || device === `/dev/disk/by-id/dm-name-${name}`;
        return matches && getObjects(getObject(luks, "clevis"), "tang").length > 0;
      });
    }
    const name = format === "swap" ? `${unitNamePathEscape(device)}.swap` : `${unitNamePathEscape(path ?? "")}.mount`;
    units.push(
      withOrigin<IgnObject>(
        {
          contents: mountUnitContents({ device, format, path, mountOptions: getStrings(filesystem, "mount_options") ?? [], remote }),
          enabled: true,
          name,
        },
        [...filesystem.path, "with_mount_unit"],
      ),
    );
  }
  return units;
}

export function translateBase(root: DecodedObject, context: TranslateContext): IgnObject {
  const config = withOrigin<IgnObject>({}, []);
  config.ignition = translateIgnitionSection(getObject(root, "ignition"), context);
  put(config, "kernelArguments", translateKernelArguments(getObject(root, "kernel_arguments")));
  put(config, "passwd", translatePasswd(getObject(root, "passwd"), context));
  const storage = getObject(root, "storage");
  put(config, "storage", translateStorage(storage, context));
  put(config, "systemd", translateSystemd(getObject(root, "systemd"), context));

  // Butane merges the rendered mount units as a parent config whenever filesystems are listed.
  if (getList(storage, "filesystems")) {
    const rendered = withOrigin<IgnObject>({ systemd: { units: renderMountUnits(storage) } }, ["storage", "filesystems"]);
    return mergeObjects(rendered, config, "Config", context.schema);
  }
  return config;
}
