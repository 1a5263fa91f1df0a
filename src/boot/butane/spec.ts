/** Which Butane variants/versions exist and which Ignition spec each one produces (coreos/butane v0.28.0 config/config.go). */

/** The variants this server translates: every stable version of each. */
export type ButaneVariant = "fcos" | "flatcar" | "r4e" | "fiot";

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
  /** fcos ≥ 1.6 checks: mount units only under /etc or /var, partitions reused by label. */
  strictStorageChecks: boolean;
  /**
   * Butane's FieldFilters: Ignition fields (JSON paths) this variant refuses when non-empty, with the message.
   * Flatcar has no clevis; RHEL for Edge and Fedora IoT manage no disks.
   */
  filters: Readonly<Record<string, string>>;
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
  { variant: "fcos", version: "1.7.0", ignitionMinor: 6 },
  { variant: "flatcar", version: "1.0.0", ignitionMinor: 3 },
  { variant: "flatcar", version: "1.1.0", ignitionMinor: 4 },
  { variant: "r4e", version: "1.0.0", ignitionMinor: 3 },
  { variant: "r4e", version: "1.1.0", ignitionMinor: 4 },
  { variant: "fiot", version: "1.0.0", ignitionMinor: 4 },
];

export const SUPPORTED_SPECS: readonly string[] = SPEC_TABLE.map((row) => `${row.variant} ${row.version}`);

const SUPPORTED_VARIANTS: readonly ButaneVariant[] = [...new Set(SPEC_TABLE.map((row) => row.variant))];

/**
 * What Butane v0.28.0 also knows but this server does not translate: OpenShift (MachineConfig sugar for
 * cluster nodes, not bare-metal boot configs), the removed `rhcos` variant, and every experimental version.
 */
const KNOWN_ELSEWHERE = new Set(["openshift", "rhcos"]);

const CLEVIS = "clevis is not supported in this spec version";
const EDGE_FILTERS: Readonly<Record<string, string>> = {
  kernelArguments: "kernel argument customization is not supported in this spec version",
  "storage.disks": "disk customization is not supported in this spec version",
  "storage.filesystems": "filesystem customization is not supported in this spec version",
  "storage.luks": "luks is not supported in this spec version",
  "storage.raid": "raid is not supported in this spec version",
};

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
    strictStorageChecks: fcosMinor >= 6,
    filters: row.variant === "flatcar" ? { "storage.luks.clevis": CLEVIS } : row.variant === "fcos" ? {} : EDGE_FILTERS,
  };
}

/** The one-line refusal for a variant/version this server has no translator for. */
export function unsupportedSpecMessage(variant: string, version: string): string {
  const supported = `supported: ${SUPPORTED_VARIANTS.join(", ")}`;
  if (KNOWN_ELSEWHERE.has(variant)) return `butane variant ${JSON.stringify(variant)} is not supported by this server (${supported})`;
  if (!(SUPPORTED_VARIANTS as readonly string[]).includes(variant)) return `butane variant ${JSON.stringify(variant)} is unknown (${supported})`;
  if (version.includes("-experimental")) {
    return `butane spec ${variant} ${version} is experimental and not supported by this server (stable: ${SUPPORTED_SPECS.filter((spec) => spec.startsWith(`${variant} `)).join(", ")})`;
  }
  return `No translator exists for variant ${variant} with version ${version}`;
}

const SEMVER_IDENTIFIER = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;

/**
 * go-semver's Version.Set followed by String(), which is what Butane looks translators up by: leading zeros
 * are accepted ("01.5.0" is 1.5.0), pre-release and build metadata kept. Undefined when go-semver refuses it.
 */
export function normalizeSemver(version: string): string | undefined {
  const [withoutMetadata = "", metadata = ""] = splitOnce(version, "+");
  const [core = "", preRelease = ""] = splitOnce(withoutMetadata, "-");
  const parts = core.split(".");
  if (parts.length < 3) return undefined;
  const dotted = [parts[0] ?? "", parts[1] ?? "", parts.slice(2).join(".")];
  if (preRelease !== "" && !SEMVER_IDENTIFIER.test(preRelease)) return undefined;
  if (metadata !== "" && !SEMVER_IDENTIFIER.test(metadata)) return undefined;
  const numbers: bigint[] = [];
  for (const part of dotted) {
    if (!/^[+-]?\d+$/.test(part)) return undefined;
    const value = BigInt(part);
    if (value > 9223372036854775807n || value < -9223372036854775808n) return undefined;
    numbers.push(value);
  }
  return `${numbers.join(".")}${preRelease === "" ? "" : `-${preRelease}`}${metadata === "" ? "" : `+${metadata}`}`;
}

function splitOnce(text: string, separator: string): [string, string] {
  const index = text.indexOf(separator);
  return index < 0 ? [text, ""] : [text.slice(0, index), text.slice(index + 1)];
}
