/**
 * The Butane test corpus: hand-written documents under test/fixtures/butane. Valid cases pair `NN-name.bu`
 * with a hand-written `NN-name.ign.json` (pretty-printed for review; key order is what Butane prints).
 * Warning-only cases are served (Butane drops the offending key) and list the warnings it reports.
 * Invalid cases list the diagnostic Butane-equivalent translation must report.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ButaneVariant } from "../../../src/boot/butane/index.ts";

const FIXTURES = join(import.meta.dir, "../../fixtures/butane");

export interface ExpectedDiagnostic {
  path: string;
  line: number;
  column: number;
  /** Substring of the message. */
  message: string;
}

export interface ValidCase {
  name: string;
  source: string;
  variant: ButaneVariant;
  butaneVersion: string;
  /** The expected Ignition JSON exactly as `butane --raw` prints it (compact, Go escaping). */
  expectedJson: string;
  expectedIgnitionVersion: string;
  expectedWarnings: ExpectedDiagnostic[];
}

export interface InvalidCase {
  name: string;
  source: string;
  expectedError: ExpectedDiagnostic;
}

export interface WarningCase {
  name: string;
  source: string;
  expectedJson: string;
  expectedWarnings: ExpectedDiagnostic[];
}

/** What Go's json.Marshal prints for the same document: compact, with <, >, & and U+2028/9 escaped. */
export function goCompactJson(prettyJson: string): string {
  return JSON.stringify(JSON.parse(prettyJson)).replace(/[<>&\u2028\u2029]/g, (char) => {
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

const WARNINGS: Readonly<Record<string, ExpectedDiagnostic[]>> = {
  "03-fcos-1.1-proxy-headers": [
    { path: "ignition.proxy.https_proxy", line: 9, column: 18, message: "insecure plaintext HTTP proxy specified for HTTPS resources" },
  ],
  "22-fcos-1.3-reserved-label-warning": [{ path: "storage.disks.0.partitions.0.label", line: 7, column: 18, message: "incorrect partition number" }],
  "24-fcos-1.4-decimal-mode-warning": [
    { path: "storage.files.0.mode", line: 6, column: 13, message: "remember to add a leading zero" },
    { path: "storage.directories.0.mode", line: 11, column: 13, message: "remember to add a leading zero" },
    {
      path: "storage.files.0.mode",
      line: 6,
      column: 13,
      message: "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
    },
    {
      path: "storage.directories.0.mode",
      line: 11,
      column: 13,
      message: "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
    },
  ],
  // Ignition < 3.6 cannot set these bits; Butane (Ignition 2.26's validator) warns for every spec before 3.6.0.
  "12-fcos-1.5-special-modes-luks-options": [
    {
      path: "storage.files.0.mode",
      line: 6,
      column: 13,
      message: "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
    },
    {
      path: "storage.directories.0.mode",
      line: 19,
      column: 13,
      message: "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
    },
  ],
  // go-yaml merges `<<: *file`, but Butane's unused-key check still sees the literal `<<` key.
  "28-fcos-1.4-yaml-anchors": [{ path: "storage.files.1.<<", line: 12, column: 7, message: "unused key <<" }],
  "15-fcos-1.5-mirror-luks-user-overrides": [
    { path: "boot_device.mirror", line: 11, column: 5, message: "boot_device.layout should be specified when boot_device.mirror is specified" },
  ],
};

function readHeader(source: string): { variant: ButaneVariant; version: string } {
  const variant = /^variant: (\S+)$/m.exec(source)?.[1];
  const version = /^version: (\S+)$/m.exec(source)?.[1];
  if ((variant !== "fcos" && variant !== "flatcar" && variant !== "r4e" && variant !== "fiot") || version === undefined) {
    throw new Error("fixture without header");
  }
  return { variant, version };
}

const IGNITION_FOR: Readonly<Record<string, string>> = {
  "fcos 1.0.0": "3.0.0",
  "fcos 1.1.0": "3.1.0",
  "fcos 1.2.0": "3.2.0",
  "fcos 1.3.0": "3.2.0",
  "fcos 1.4.0": "3.3.0",
  "fcos 1.5.0": "3.4.0",
  "fcos 1.6.0": "3.5.0",
  "fcos 1.7.0": "3.6.0",
  "flatcar 1.0.0": "3.3.0",
  "flatcar 1.1.0": "3.4.0",
  "r4e 1.0.0": "3.3.0",
  "r4e 1.1.0": "3.4.0",
  "fiot 1.0.0": "3.4.0",
};

export function loadValidCases(): ValidCase[] {
  const directory = join(FIXTURES, "valid");
  return readdirSync(directory)
    .filter((file) => file.endsWith(".bu"))
    .sort()
    .map((file) => {
      const name = file.replace(/\.bu$/, "");
      const source = readFileSync(join(directory, file), "utf8");
      const { variant, version } = readHeader(source);
      const expectedIgnitionVersion = IGNITION_FOR[`${variant} ${version}`];
      if (!expectedIgnitionVersion) throw new Error(`${name}: no Ignition version for ${variant} ${version}`);
      return {
        name,
        source,
        variant,
        butaneVersion: version,
        expectedJson: goCompactJson(readFileSync(join(directory, `${name}.ign.json`), "utf8")),
        expectedIgnitionVersion,
        expectedWarnings: WARNINGS[name] ?? [],
      };
    });
}

const INVALID: ReadonlyArray<Omit<InvalidCase, "source">> = [
  {
    name: "02-wrong-type-mode",
    expectedError: { path: "storage.files.0.mode", line: 6, column: 13, message: "cannot unmarshal !!str `0644` into int" },
  },
  { name: "03-files-not-a-list", expectedError: { path: "storage.files", line: 5, column: 5, message: "cannot unmarshal !!map" } },
  {
    name: "04-unsupported-version",
    expectedError: { path: "version", line: 2, column: 10, message: "No translator exists for variant fcos with version 1.9.0" },
  },
  { name: "05-missing-variant", expectedError: { path: "variant", line: 1, column: 1, message: "error parsing variant" } },
  { name: "06-version-not-semver", expectedError: { path: "version", line: 2, column: 10, message: "must be a valid semver" } },
  {
    name: "08-contents-local",
    expectedError: { path: "storage.files.0.contents.local", line: 7, column: 16, message: "no files directory" },
  },
  { name: "09-trees", expectedError: { path: "storage.trees.0", line: 5, column: 7, message: "`storage.trees`" } },
  {
    name: "10-unit-contents-local",
    expectedError: { path: "systemd.units.0.contents_local", line: 6, column: 23, message: "`contents_local`" },
  },
  {
    name: "11-ssh-keys-local",
    expectedError: { path: "passwd.users.0.ssh_authorized_keys_local", line: 6, column: 34, message: "`ssh_authorized_keys_local`" },
  },
  {
    name: "12-inline-and-source",
    expectedError: {
      path: "storage.files.0.contents.source",
      line: 8,
      column: 17,
      message: "only one of the following can be set: inline, local, source",
    },
  },
  { name: "13-duplicate-key", expectedError: { path: "", line: 6, column: 7, message: "Map keys must be unique" } },
  {
    name: "16-mirror-one-device",
    expectedError: { path: "boot_device.mirror.devices", line: 6, column: 7, message: "mirroring requires at least two devices" },
  },
  {
    name: "17-unknown-layout",
    expectedError: { path: "boot_device.layout", line: 4, column: 11, message: "layout must be one of: aarch64, ppc64le, x86_64" },
  },
  {
    name: "18-grub-user-without-hash",
    expectedError: { path: "grub.users.0.password_hash", line: 5, column: 7, message: 'field "password_hash" is required' },
  },
  { name: "19-relative-file-path", expectedError: { path: "storage.files.0.path", line: 5, column: 13, message: "path not absolute" } },
  {
    name: "20-unit-without-type-suffix",
    expectedError: { path: "systemd.units.0.name", line: 5, column: 13, message: "invalid systemd unit extension" },
  },
  {
    name: "21-flatcar-clevis",
    expectedError: { path: "storage.luks.0.clevis", line: 8, column: 9, message: "clevis is not supported in this spec version" },
  },
  { name: "22-yaml-syntax-error", expectedError: { path: "", line: 6, column: 1, message: "error parsing YAML" } },
  { name: "23-duplicate-file-path", expectedError: { path: "storage.links.0", line: 7, column: 7, message: "duplicate entry defined" } },
  {
    name: "24-mount-unit-without-format",
    expectedError: { path: "storage.filesystems.0.format", line: 5, column: 7, message: "format is required if with_mount_unit is true" },
  },
  {
    name: "27-bad-hash",
    expectedError: { path: "storage.files.0.contents.verification.hash", line: 9, column: 17, message: "unrecognized hash function" },
  },
];

export function loadInvalidCases(): InvalidCase[] {
  const directory = join(FIXTURES, "invalid");
  const files = readdirSync(directory).filter((file) => file.endsWith(".bu"));
  if (files.length !== INVALID.length) throw new Error(`invalid fixtures (${files.length}) and table (${INVALID.length}) differ`);
  return INVALID.map((entry) => ({ ...entry, source: readFileSync(join(directory, `${entry.name}.bu`), "utf8") }));
}

/** Unused keys are warnings in Butane: the key is dropped and the config is served (hand-written expectations). */
const WARNING_ONLY: ReadonlyArray<Omit<WarningCase, "source">> = [
  {
    name: "01-unknown-key",
    expectedJson: '{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/hostname","mode":420}]}}',
    expectedWarnings: [{ path: "storage.files.0.owner", line: 7, column: 7, message: "unused key owner" }],
  },
  {
    name: "02-kernel-arguments-before-1.4",
    expectedJson: '{"ignition":{"version":"3.2.0"}}',
    expectedWarnings: [{ path: "kernel_arguments", line: 3, column: 1, message: "unused key kernel_arguments" }],
  },
  {
    name: "03-boot-device-on-flatcar",
    expectedJson: '{"ignition":{"version":"3.3.0"}}',
    expectedWarnings: [{ path: "boot_device", line: 3, column: 1, message: "unused key boot_device" }],
  },
  {
    name: "04-grub-before-1.5",
    expectedJson: '{"ignition":{"version":"3.3.0"}}',
    expectedWarnings: [{ path: "grub", line: 3, column: 1, message: "unused key grub" }],
  },
  {
    name: "05-discard-before-1.5",
    expectedJson: '{"ignition":{"version":"3.3.0"},"storage":{"luks":[{"device":"/dev/vdb","name":"data"}]}}',
    expectedWarnings: [{ path: "storage.luks.0.discard", line: 7, column: 7, message: "unused key discard" }],
  },
];

export function loadWarningCases(): WarningCase[] {
  const directory = join(FIXTURES, "warnings");
  const files = readdirSync(directory).filter((file) => file.endsWith(".bu"));
  if (files.length !== WARNING_ONLY.length) throw new Error(`warning fixtures (${files.length}) and table (${WARNING_ONLY.length}) differ`);
  return WARNING_ONLY.map((entry) => ({ ...entry, source: readFileSync(join(directory, `${entry.name}.bu`), "utf8") }));
}
