/**
 * Fedora CoreOS sugar (coreos/butane config/fcos/v1_N/translate.go): `boot_device` (LUKS root and/or a
 * mirrored boot disk laid out like the OS image) and `grub.users`, each rendered as a parent config that
 * the user's own config is merged over.
 */
import { makeDataUrl, utf8Bytes } from "./encoding.ts";
import { type IgnObject, type IgnValue, mergeObjects, withOrigin, yamlOrigin } from "./ignition-model.ts";
import { type TranslateContext, translateTang } from "./translate-base.ts";
import { type DecodedObject, getBool, getInt, getObject, getObjects, getString, getStrings } from "./yaml-decode.ts";

const RESERVED_TYPE_GUID = "8DA63339-0007-60C0-C436-083AC8230908";
const BIOS_TYPE_GUID = "21686148-6449-6E6F-744E-656564454649";
const PREP_TYPE_GUID = "9E1A2D38-C612-4316-AA26-8B49521E5A8B";
const ESP_TYPE_GUID = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

// Partition sizes of the OS image layout (coreos-assembler create_disk.sh); Butane never changes them.
const RESERVED_SIZE_MIB = 1;
const BIOS_SIZE_MIB = 1;
const PREP_SIZE_MIB = 4;
const ESP_SIZE_MIB = 127;
const BOOT_SIZE_MIB = 384;

function partition(label: string, sizeMiB: number | undefined, typeGuid: string | undefined): IgnObject {
  const out: IgnObject = { label };
  if (sizeMiB !== undefined) out.sizeMiB = sizeMiB;
  if (typeGuid !== undefined) out.typeGuid = typeGuid;
  return out;
}

function renderBootDevice(bootDevice: DecodedObject): IgnObject | undefined {
  const luks = getObject(bootDevice, "luks");
  const mirror = getObject(bootDevice, "mirror");
  const tangServers = getObjects(luks, "tang");
  const cexEnabled = getBool(getObject(luks, "cex"), "enabled") === true;
  const wantLuks = getBool(luks, "tpm2") === true || tangServers.length > 0 || cexEnabled;
  const mirrorDevices = getStrings(mirror, "devices") ?? [];
  const wantMirror = mirrorDevices.length > 0;
  if (!wantLuks && !wantMirror) return undefined;

  const layout = getString(bootDevice, "layout") ?? "x86_64";
  const wantBios = layout === "x86_64";
  const wantEfi = layout === "x86_64" || layout === "aarch64";
  const wantPrep = layout === "ppc64le";

  const origin = bootDevice.path;
  const disks: IgnObject[] = [];
  const filesystems: IgnObject[] = [];
  const storage: IgnObject = {};

  if (wantMirror) {
    mirrorDevices.forEach((device, index) => {
      const labelIndex = index + 1;
      const partitions: IgnObject[] = [];
      if (wantBios) partitions.push(partition(`bios-${labelIndex}`, BIOS_SIZE_MIB, BIOS_TYPE_GUID));
      else if (wantPrep) partitions.push(partition(`prep-${labelIndex}`, PREP_SIZE_MIB, PREP_TYPE_GUID));
      else partitions.push(partition(`reserved-${labelIndex}`, RESERVED_SIZE_MIB, RESERVED_TYPE_GUID));
      if (wantEfi) partitions.push(partition(`esp-${labelIndex}`, ESP_SIZE_MIB, ESP_TYPE_GUID));
      else partitions.push(partition(`reserved-${labelIndex}`, RESERVED_SIZE_MIB, RESERVED_TYPE_GUID));
      partitions.push(partition(`boot-${labelIndex}`, BOOT_SIZE_MIB, undefined));
      partitions.push(partition(`root-${labelIndex}`, undefined, undefined));
      disks.push(withOrigin<IgnObject>({ device, partitions, wipeTable: true }, [...origin, "mirror", "devices", index]));
      if (wantEfi) {
        filesystems.push(
          withOrigin<IgnObject>(
            {
              device: `/dev/disk/by-partlabel/esp-${labelIndex}`,
              format: "vfat",
              label: `esp-${labelIndex}`,
              wipeFilesystem: true,
            },
            [...origin, "mirror", "devices", index],
          ),
        );
      }
    });
    const raidDevices = (prefix: string): IgnValue[] => mirrorDevices.map((_, index) => `/dev/disk/by-partlabel/${prefix}-${index + 1}`);
    storage.raid = [
      // The RAID superblock goes at the end of the partition so BIOS GRUB need not understand RAID.
      withOrigin<IgnObject>({ devices: raidDevices("boot"), level: "raid1", name: "md-boot", options: ["--metadata=1.0"] }, [...origin, "mirror"]),
      withOrigin<IgnObject>({ devices: raidDevices("root"), level: "raid1", name: "md-root" }, [...origin, "mirror"]),
    ];
    filesystems.push(withOrigin<IgnObject>({ device: "/dev/md/md-boot", format: "ext4", label: "boot", wipeFilesystem: true }, [...origin, "mirror"]));
  }

  if (wantLuks) {
    const luksDeviceBase = getString(luks, "device");
    let luksDevice: string;
    if (layout === "s390x-eckd") luksDevice = `${luksDeviceBase ?? ""}2`;
    else if (layout === "s390x-zfcp") luksDevice = `${luksDeviceBase ?? ""}4`;
    else if (wantMirror) luksDevice = "/dev/md/md-root";
    else luksDevice = "/dev/disk/by-partlabel/root";

    const luksOut: IgnObject = {};
    if (cexEnabled) {
      luksOut.cex = { enabled: true };
    } else {
      const clevis: IgnObject = {};
      if (tangServers.length > 0) clevis.tang = tangServers.map(translateTang);
      const threshold = getInt(luks, "threshold");
      if (threshold !== undefined) clevis.threshold = threshold;
      const tpm2 = getBool(luks, "tpm2");
      if (tpm2 !== undefined) clevis.tpm2 = tpm2;
      luksOut.clevis = clevis;
    }
    luksOut.device = luksDevice;
    const discard = getBool(luks, "discard");
    if (discard !== undefined) luksOut.discard = discard;
    luksOut.label = "luks-root";
    luksOut.name = "root";
    luksOut.wipeVolume = true;
    storage.luks = [withOrigin(luksOut, [...origin, "luks"])];
  }

  const rootDevice = wantLuks ? "/dev/mapper/root" : "/dev/md/md-root";
  filesystems.push(withOrigin<IgnObject>({ device: rootDevice, format: "xfs", label: "root", wipeFilesystem: true }, origin));
  if (disks.length > 0) storage.disks = disks;
  storage.filesystems = filesystems;
  return withOrigin<IgnObject>({ storage: withOrigin(storage, origin) }, origin);
}

const RESERVED_PARTITION_LABELS: Readonly<Record<string, number>> = {
  "BIOS-BOOT": 1,
  "PowerPC-PReP-boot": 1,
  "EFI-SYSTEM": 2,
  boot: 3,
  root: 4,
};

/**
 * Butane's partition remarks on the config with boot_device merged in: a root partition that cannot grow or is
 * under 8 GiB, and a partition that reuses an OS partition label under another number (a new one would be made).
 */
function warnOnReservedLabels(config: IgnObject, context: TranslateContext): void {
  const storage = config.storage;
  if (typeof storage !== "object" || Array.isArray(storage)) return;
  const disks = storage.disks;
  if (!Array.isArray(disks)) return;
  for (const [diskIndex, disk] of disks.entries()) {
    if (typeof disk !== "object" || Array.isArray(disk)) continue;
    const partitions = disk.partitions;
    if (!Array.isArray(partitions)) continue;
    for (const [partitionIndex, entry] of partitions.entries()) {
      if (typeof entry !== "object" || Array.isArray(entry)) continue;
      const label = entry.label;
      if (typeof label !== "string") continue;
      if (label === "root") {
        const size = typeof entry.sizeMiB === "number" ? entry.sizeMiB : 0;
        if (size === 0) {
          const autoPositioned = partitions.some(
            (other, index) =>
              index !== partitionIndex && typeof other === "object" && !Array.isArray(other) && (typeof other.startMiB !== "number" || other.startMiB === 0),
          );
          if (autoPositioned) {
            context.report.warning(
              [...originOf(entry), "label"],
              "root partition cannot expand; it is set to fill available space but is followed by an auto-positioned partition",
            );
          }
        } else if (size < 8192) {
          // Butane names this one by its position in the merged config (no translation exists for it).
          context.report.warning(["storage", "disks", diskIndex, "partitions", partitionIndex, "size_mib"], "root should have 8GiB of space assigned");
        }
      }
      if (disk.wipeTable === true) continue;
      const expected = RESERVED_PARTITION_LABELS[label];
      const number = typeof entry.number === "number" ? entry.number : 0;
      if (expected !== undefined && number !== expected) {
        const origin = originOf(entry);
        context.report.warning([...origin, "label"], "incorrect partition number; a new partition will be created using reserved label");
      }
    }
  }
}

function originOf(value: object): readonly (string | number)[] {
  return yamlOrigin.get(value) ?? [];
}

function renderGrub(grub: DecodedObject): IgnObject | undefined {
  const users = getObjects(grub, "users");
  if (users.length === 0) return undefined;
  const names = users.map((user) => getString(user, "name") ?? "");
  const commands = users.map((user) => `password_pbkdf2 ${getString(user, "name") ?? ""} ${getString(user, "password_hash") ?? ""}`);
  const userConfig = `# Generated by Butane\n\nset superusers="${names.join(" ")}"\n${commands.join("\n")}\n`;
  const origin = [...grub.path, "users"];
  return withOrigin<IgnObject>(
    {
      storage: {
        files: [withOrigin<IgnObject>({ path: "/boot/grub2/user.cfg", append: [{ compression: "", source: makeDataUrl(utf8Bytes(userConfig)) }] }, origin)],
        filesystems: [withOrigin<IgnObject>({ device: "/dev/disk/by-label/boot", format: "ext4", path: "/boot" }, origin)],
      },
    },
    origin,
  );
}

export function applyFcosSugar(root: DecodedObject, config: IgnObject, context: TranslateContext): IgnObject {
  let result = config;
  const bootDevice = getObject(root, "boot_device");
  if (context.spec.bootDevice && bootDevice) {
    const rendered = renderBootDevice(bootDevice);
    if (rendered) result = mergeObjects(rendered, result, "Config", context.schema);
  }
  if (context.spec.bootDevice) warnOnReservedLabels(result, context);
  const grub = getObject(root, "grub");
  if (context.spec.grub && grub) {
    const rendered = renderGrub(grub);
    if (rendered) result = mergeObjects(rendered, result, "Config", context.schema);
  }
  return result;
}
