/**
 * Checks Butane performs on the YAML before translating (base/v0_N/validate.go, config/fcos/v1_N/validate.go).
 */
import type { DiagnosticReport } from "./diagnostics.ts";
import { validateInlineConfig } from "./embedded-config.ts";
import type { ButaneSpec } from "./spec.ts";
import { type DecodedObject, getBool, getObject, getObjects, getString, getStrings } from "./yaml-decode.ts";

const ERR_TOO_MANY_RESOURCE_SOURCES = "only one of the following can be set: inline, local, source";
const ERR_DECIMAL_MODE = "unreasonable mode would be reasonable if specified in octal; remember to add a leading zero";

/** Butane's decimalModeToOctal: reads the digits of `mode` as octal, if they all are octal digits. */
function decimalModeToOctal(mode: number): number | undefined {
  if (mode < 0 || mode > 7777) return undefined;
  let result = 0;
  for (let divisor = 1000; divisor > 0; divisor = Math.floor(divisor / 10)) {
    const digit = Math.floor(mode / divisor) % 10;
    if (digit > 7) return undefined;
    result = (result << 3) | digit;
  }
  return result;
}

/** Butane's isTypicalMode: whether a mode looks like something a person would deliberately choose. */
export function isTypicalMode(mode: number, directory: boolean): boolean {
  if (mode === 0) return true;
  const perms = [mode & 0o7, (mode & 0o70) >> 3, (mode & 0o700) >> 6];
  let hadR = false;
  let hadW = false;
  let hadX = false;
  for (const perm of perms) {
    const r = (perm & 4) !== 0;
    const w = (perm & 2) !== 0;
    const x = (perm & 1) !== 0;
    if ((!r && hadR) || (!w && hadW) || (!x && hadX)) return false;
    if (x && hadR && !hadX) return false;
    if ((w || x) && !r) return false;
    hadR ||= r;
    hadW ||= w;
    hadX ||= x;
  }
  if (!hadR) return false;
  if (directory) {
    if (!hadX) return false;
    if ((mode & 0o4000) !== 0) return false;
    if ((mode & 0o3000) !== 0 && !hadW) return false;
  } else {
    if ((mode & 0o6000) !== 0) {
      if (!hadX) return false;
      if ((mode & 2) !== 0) return false;
    }
    if ((mode & 0o1000) !== 0) return false;
  }
  return true;
}

export function looksLikeDecimalMode(mode: number, directory: boolean): boolean {
  const corrected = decimalModeToOctal(mode);
  return corrected !== undefined && !isTypicalMode(mode, directory) && isTypicalMode(corrected, directory);
}

function validateResource(resource: DecodedObject, spec: ButaneSpec, report: DiagnosticReport): void {
  let lastField: string | undefined;
  let sources = 0;
  for (const field of ["local", "inline", "source"]) {
    if (getString(resource, field) !== undefined) {
      sources++;
      lastField = field;
    }
  }
  if (sources > 1 && lastField) {
    report.error([...resource.path, lastField], ERR_TOO_MANY_RESOURCE_SOURCES);
    return;
  }
  // Butane ≥ 1.1 checks that an inline merged/replacing config is an Ignition config Ignition would accept.
  const inline = getString(resource, "inline");
  if (spec.ignitionMinor >= 1 && inline !== undefined && resource.path[0] === "ignition" && resource.path[1] === "config") {
    validateInlineConfig(inline, [...resource.path, "inline"], resource.path, spec.ignitionMinor, report);
  }
}

function resourcesOf(root: DecodedObject): DecodedObject[] {
  const resources: DecodedObject[] = [];
  const config = getObject(getObject(root, "ignition"), "config");
  resources.push(...getObjects(config, "merge"));
  const replace = getObject(config, "replace");
  if (replace) resources.push(replace);
  resources.push(...getObjects(getObject(getObject(getObject(root, "ignition"), "security"), "tls"), "certificate_authorities"));
  const storage = getObject(root, "storage");
  for (const file of getObjects(storage, "files")) {
    const contents = getObject(file, "contents");
    if (contents) resources.push(contents);
    resources.push(...getObjects(file, "append"));
  }
  for (const luks of getObjects(storage, "luks")) {
    const keyFile = getObject(luks, "key_file");
    if (keyFile) resources.push(keyFile);
  }
  return resources;
}

const DASD_DEVICE = /\/dev\/dasd[a-z]$/;
const SCSI_DEVICE = /\/dev\/sd[a-z]$/;
const ALLOWED_MOUNT_POINTS = /^\/(etc|var)(\/|$)/;
const BOOT_DISK = "/dev/disk/by-id/coreos-boot-disk";

function validateBootDevice(bootDevice: DecodedObject, spec: ButaneSpec, report: DiagnosticReport): void {
  const path = bootDevice.path;
  const layout = getString(bootDevice, "layout");
  const luks = getObject(bootDevice, "luks");
  const mirrorDevices = getStrings(getObject(bootDevice, "mirror"), "devices") ?? [];
  if (layout !== undefined) {
    if (!spec.bootDeviceS390x) {
      if (!["aarch64", "ppc64le", "x86_64"].includes(layout)) {
        report.error([...path, "layout"], "layout must be one of: aarch64, ppc64le, x86_64");
      }
    } else {
      const device = getString(luks, "device");
      switch (layout) {
        case "aarch64":
        case "ppc64le":
        case "x86_64":
        case "s390x-virt":
          break;
        case "s390x-eckd":
        case "s390x-zfcp":
          if (device === undefined || device === "") {
            report.error([...path, "layout"], "device is required for layouts: s390x-eckd, s390x-zfcp");
          } else if (!(layout === "s390x-eckd" ? DASD_DEVICE : SCSI_DEVICE).test(device)) {
            report.error([...path, "layout"], "device name must start with /dev/dasd on s390x-eckd layout or /dev/sd on s390x-zfcp layout");
          }
          break;
        default:
          report.error([...path, "layout"], "layout must be one of: aarch64, ppc64le, s390x-eckd, s390x-virt, s390x-zfcp, x86_64");
      }
      if (layout.startsWith("s390x") && mirrorDevices.length > 0) {
        report.error([...path, "layout"], "mirroring not supported on layouts: s390x-eckd, s390x-zfcp, s390x-virt");
      }
    }
  }
  if (spec.bootDeviceS390x && getBool(getObject(luks, "cex"), "enabled") === true) {
    if (layout === undefined) {
      report.error([...path, "luks", "cex"], "when using cex the targeted architecture must match s390x");
    } else if (!layout.startsWith("s390x")) {
      report.error([...path, "layout"], "when using cex the targeted architecture must match s390x");
    }
    if (getObjects(luks, "tang").length > 0 || getBool(luks, "tpm2") === true) {
      report.error([...path, "luks"], "cannot use cex with clevis");
    }
  }
  if (mirrorDevices.length > 0 && layout === undefined) {
    // A warning until fcos 1.6, an error from 1.7 on.
    const message = "boot_device.layout should be specified when boot_device.mirror is specified";
    if (spec.ignitionMinor >= 6) report.error([...path, "mirror"], message);
    else report.warning([...path, "mirror"], message);
  }
  if (spec.ignitionMinor >= 6 && getString(luks, "device") !== undefined && getString(luks, "device") !== "") {
    const anyTang = getObjects(luks, "tang").some((tang) => tang.fields.size > 0);
    if (!anyTang && getBool(luks, "tpm2") !== true && getBool(getObject(luks, "cex"), "enabled") !== true) {
      report.error([...path, "luks", "luks"], "no method specified for luks");
    }
  }
  if (mirrorDevices.length === 1) report.error([...path, "mirror", "devices"], "mirroring requires at least two devices");
}

export function validateButane(root: DecodedObject, spec: ButaneSpec, report: DiagnosticReport): void {
  for (const resource of resourcesOf(root)) validateResource(resource, spec, report);

  const storage = getObject(root, "storage");
  for (const file of getObjects(storage, "files")) {
    const mode = file.fields.get("mode");
    if (typeof mode === "number" && looksLikeDecimalMode(mode, false)) report.warning([...file.path, "mode"], ERR_DECIMAL_MODE);
  }
  for (const directory of getObjects(storage, "directories")) {
    const mode = directory.fields.get("mode");
    if (typeof mode === "number" && looksLikeDecimalMode(mode, true)) report.warning([...directory.path, "mode"], ERR_DECIMAL_MODE);
  }
  for (const filesystem of getObjects(storage, "filesystems")) {
    if (getBool(filesystem, "with_mount_unit") !== true) continue;
    const format = getString(filesystem, "format");
    const path = getString(filesystem, "path");
    // Swap units (no mount point) arrived with Ignition 3.3 / fcos 1.4.
    const noFormat = format === undefined || format === "";
    const noPath = path === undefined || path === "";
    if (spec.ignitionMinor >= 3) {
      if (noFormat) report.error([...filesystem.path, "format"], "format is required if with_mount_unit is true");
      else if (format !== "swap" && noPath) report.error([...filesystem.path, "path"], "path is required if with_mount_unit is true and format is not swap");
    } else {
      // Butane 1.1–1.3 (before swap units) require both, each on its own.
      if (noPath) report.error([...filesystem.path, "path"], "path is required if with_mount_unit is true and format is not swap");
      if (noFormat) report.error([...filesystem.path, "format"], "format is required if with_mount_unit is true");
    }
    if (spec.strictStorageChecks && path !== undefined && !ALLOWED_MOUNT_POINTS.test(path)) {
      report.error([...filesystem.path, "path"], "path must be under /etc or /var if with_mount_unit is true");
    }
  }
  if (spec.strictStorageChecks) {
    for (const disk of getObjects(storage, "disks")) {
      if (getString(disk, "device") === BOOT_DISK || getBool(disk, "wipe_table") === true) continue;
      for (const partition of getObjects(disk, "partitions")) {
        const number = partition.fields.get("number");
        if ((number === undefined || number === 0) && getString(partition, "label") !== undefined) {
          report.warning(
            [...partition.path, "number"],
            "partitions cannot be reused by label; number must be specified except on boot disk (/dev/disk/by-id/coreos-boot-disk) or when wipe_table is true",
          );
        }
      }
    }
  }
  for (const tree of getObjects(storage, "trees")) {
    if (getString(tree, "local") === undefined || getString(tree, "local") === "") report.error(tree.path, "local is required");
  }
  for (const unit of getObjects(getObject(root, "systemd"), "units")) {
    if (getString(unit, "contents") !== undefined && getString(unit, "contents_local") !== undefined) {
      report.error([...unit.path, "contents_local"], "only one of the following can be set: contents, contents_local");
    }
    for (const dropin of getObjects(unit, "dropins")) {
      if (getString(dropin, "contents") !== undefined && getString(dropin, "contents_local") !== undefined) {
        report.error([...dropin.path, "contents_local"], "only one of the following can be set: contents, contents_local");
      }
    }
  }

  const bootDevice = getObject(root, "boot_device");
  if (spec.bootDevice && bootDevice) validateBootDevice(bootDevice, spec, report);

  const grub = getObject(root, "grub");
  if (spec.grub && grub) {
    for (const user of getObjects(grub, "users")) {
      if ((getString(user, "name") ?? "") === "") report.error([...user.path, "name"], 'field "name" is required');
      if ((getString(user, "password_hash") ?? "") === "") {
        report.error([...user.path, "password_hash"], 'field "password_hash" is required');
      }
    }
  }
}
