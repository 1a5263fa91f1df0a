/** Which Butane variants/versions exist and which Ignition spec each one produces (Butane docs, "specs"). */

export type ButaneVariant = "fcos" | "flatcar";

export interface ButaneSpec {
  variant: ButaneVariant;
  /** Butane spec version, e.g. `1.5.0`. */
  version: string;
  /** Ignition spec version the output declares, e.g. `3.4.0`. */
  ignitionVersion: string;
  /** Minor of the Ignition 3.x spec: gates every field that appeared in a later Ignition release. */
  ignitionMinor: number;
  /** fcos ≥ 1.3: `boot_device` (luks/mirror sugar). */
  bootDevice: boolean;
  /** fcos ≥ 1.5: `boot_device.luks.discard`. */
  bootDeviceDiscard: boolean;
  /** fcos ≥ 1.6: `boot_device.luks.device`, `cex` and the s390x layouts. */
  bootDeviceS390x: boolean;
  /** fcos ≥ 1.5: `grub.users`. */
  grub: boolean;
  /** flatcar: Ignition on Flatcar has no clevis, so Butane rejects `storage.luks.clevis`. */
  forbidsClevis: boolean;
  /** fcos ≥ 1.6 checks: mount units only under /etc or /var, partitions reused by label. */
  strictStorageChecks: boolean;
}

interface SpecRow {
  variant: ButaneVariant;
  version: string;
  ignitionMinor: number;
}

const SPEC_TABLE: readonly SpecRow[] = [
  { variant: "fcos", version: "1.0.0", ignitionMinor: 0 },
  { variant: "fcos", version: "1.1.0", ignitionMinor: 1 },
  { variant: "fcos", version: "1.2.0", ignitionMinor: 2 },
  { variant: "fcos", version: "1.3.0", ignitionMinor: 2 },
  { variant: "fcos", version: "1.4.0", ignitionMinor: 3 },
  { variant: "fcos", version: "1.5.0", ignitionMinor: 4 },
  { variant: "fcos", version: "1.6.0", ignitionMinor: 5 },
  { variant: "flatcar", version: "1.0.0", ignitionMinor: 3 },
  { variant: "flatcar", version: "1.1.0", ignitionMinor: 4 },
];

export const SUPPORTED_SPECS: readonly string[] = SPEC_TABLE.map((row) => `${row.variant} ${row.version}`);

function minorOf(version: string): number {
  return Number(version.split(".")[1]);
}

export function lookupSpec(variant: string, version: string): ButaneSpec | undefined {
  const row = SPEC_TABLE.find((candidate) => candidate.variant === variant && candidate.version === version);
  if (!row) return undefined;
  const fcosMinor = row.variant === "fcos" ? minorOf(row.version) : -1;
  return {
    variant: row.variant,
    version: row.version,
    ignitionVersion: `3.${row.ignitionMinor}.0`,
    ignitionMinor: row.ignitionMinor,
    bootDevice: fcosMinor >= 3,
    bootDeviceDiscard: fcosMinor >= 5,
    bootDeviceS390x: fcosMinor >= 6,
    grub: fcosMinor >= 5,
    forbidsClevis: row.variant === "flatcar",
    strictStorageChecks: fcosMinor >= 6,
  };
}

/** Semantic version as Butane parses it (go-semver): MAJOR.MINOR.PATCH with optional pre-release/build. */
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

export function isSemver(version: string): boolean {
  return SEMVER.test(version);
}
