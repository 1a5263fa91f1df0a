import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { formatButaneDiagnostic, translateButane } from "../../../src/boot/butane/index.ts";
import { loadInvalidCases, loadValidCases, loadWarningCases } from "./corpus.ts";

const validCases = loadValidCases();
const invalidCases = loadInvalidCases();
const warningCases = loadWarningCases();

describe("Butane corpus: valid documents translate to the hand-written Ignition JSON", () => {
  test("the corpus covers every supported variant/version", () => {
    const covered = new Set(validCases.map((entry) => `${entry.variant} ${entry.butaneVersion}`));
    for (const version of ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0", "1.6.0"]) expect(covered).toContain(`fcos ${version}`);
    for (const version of ["1.0.0", "1.1.0"]) expect(covered).toContain(`flatcar ${version}`);
    expect(validCases.length + invalidCases.length + warningCases.length).toBeGreaterThanOrEqual(40);
    expect(invalidCases.length).toBeGreaterThanOrEqual(15);
  });

  for (const entry of validCases) {
    test(entry.name, () => {
      const result = translateButane(entry.source);
      if (!result.ok) throw new Error(result.errors.map(formatButaneDiagnostic).join("\n"));
      expect(result.ignitionJson).toBe(entry.expectedJson);
      expect(result.ignitionVersion).toBe(entry.expectedIgnitionVersion);
      const warnings = result.warnings.map((warning) => ({
        path: warning.path,
        line: warning.line,
        column: warning.column,
        message: warning.message,
      }));
      expect(warnings).toHaveLength(entry.expectedWarnings.length);
      for (const expected of entry.expectedWarnings) {
        expect(warnings).toContainEqual({ ...expected, message: expect.stringContaining(expected.message) });
      }
    });
  }
});

describe("Butane corpus: warnings do not stop the translation (the key is dropped, as in Butane)", () => {
  for (const entry of warningCases) {
    test(entry.name, () => {
      const result = translateButane(entry.source);
      if (!result.ok) throw new Error(result.errors.map(formatButaneDiagnostic).join("\n"));
      expect(result.ignitionJson).toBe(entry.expectedJson);
      const warnings = result.warnings.map((warning) => ({ path: warning.path, line: warning.line, column: warning.column, message: warning.message }));
      expect(warnings).toEqual(entry.expectedWarnings);
      for (const warning of result.warnings) expect(warning.severity).toBe("warning");
    });
  }
});

describe("Butane corpus: invalid documents report the YAML path and position", () => {
  for (const entry of invalidCases) {
    test(entry.name, () => {
      const result = translateButane(entry.source);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      const errors = result.errors.map((error) => ({ path: error.path, line: error.line, column: error.column, message: error.message }));
      expect(errors).toContainEqual({ ...entry.expectedError, message: expect.stringContaining(entry.expectedError.message) });
      for (const error of result.errors) expect(error.severity).toBe("error");
    });
  }
});

describe("formatButaneDiagnostic", () => {
  test("prints path, position and message on one line", () => {
    expect(formatButaneDiagnostic({ severity: "error", path: "storage.files.0.mode", line: 7, column: 13, message: "invalid mode" })).toBe(
      "storage.files.0.mode (line 7, column 13): invalid mode",
    );
  });

  test("falls back to $ for the document root and omits a missing position", () => {
    expect(formatButaneDiagnostic({ severity: "warning", path: "", message: "odd" })).toBe("$: odd");
  });
});

describe("translateButane behaviour beyond the corpus", () => {
  test("reports every unknown key at once, each at its own key, as warnings; the config is still served", () => {
    const result = translateButane("variant: fcos\nversion: 1.5.0\nstorage:\n  filez: []\nsystemd:\n  unitz: []\n");
    expect(result.ok).toBe(true);
    expect(result.warnings.map(formatButaneDiagnostic)).toEqual([
      "storage.filez (line 4, column 3): unused key filez",
      "systemd.unitz (line 6, column 3): unused key unitz",
    ]);
  });

  test("an empty document asks for a variant; a document that is not a mapping does not decode", () => {
    for (const source of ["", "- a\n- b\n"]) {
      const result = translateButane(source);
      expect(!result.ok && result.errors[0]?.path).toBe("variant");
    }
    const scalar = translateButane("just a string\n");
    expect(!scalar.ok && scalar.errors[0]?.message).toContain("cannot unmarshal");
  });

  test("the document's variant decides the translation (a flatcar document needs no flatcar format)", () => {
    const result = translateButane("variant: flatcar\nversion: 1.1.0\n");
    expect(result).toEqual({ ok: true, ignitionJson: '{"ignition":{"version":"3.4.0"}}', ignitionVersion: "3.4.0", warnings: [] });
  });

  test("every stable spec of fcos, flatcar, r4e and fiot translates to its Ignition version", () => {
    const expected: Record<string, string> = {
      "fcos 1.0.0": "3.0.0",
      "fcos 1.3.0": "3.2.0",
      "fcos 1.7.0": "3.6.0",
      "flatcar 1.0.0": "3.3.0",
      "r4e 1.0.0": "3.3.0",
      "r4e 1.1.0": "3.4.0",
      "fiot 1.0.0": "3.4.0",
    };
    for (const [spec, ignition] of Object.entries(expected)) {
      const [variant, version] = spec.split(" ");
      const result = translateButane(`variant: ${variant}\nversion: ${version}\n`);
      expect(result.ok && result.ignitionVersion).toBe(ignition);
    }
  });

  test("experimental Butane versions and the openshift variant are refused in one line naming them", () => {
    const experimental = translateButane("variant: fcos\nversion: 1.8.0-experimental\n");
    expect(!experimental.ok && experimental.errors[0]?.message).toStartWith("butane spec fcos 1.8.0-experimental is experimental");
    const openshift = translateButane("variant: openshift\nversion: 4.16.0\nmetadata:\n  name: x\n");
    expect(!openshift.ok && openshift.errors[0]?.message).toBe(
      'butane variant "openshift" is not supported by this server (supported: fcos, flatcar, r4e, fiot)',
    );
  });

  test("!!binary inline contents arrive byte for byte", () => {
    const result = translateButane("variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /b\n      contents:\n        inline: !!binary /wCAgQ==\n");
    expect(result.ok && result.ignitionJson).toContain('"source":"data:,%FF%00%80%81"');
  });

  test("an alias to an undefined anchor is an error, not a dropped field", () => {
    const result = translateButane("variant: fcos\nversion: 1.5.0\npasswd:\n  users:\n    - name: core\n      ssh_authorized_keys: [*admin_key]\n");
    expect(!result.ok && result.errors[0]?.message).toContain("unknown anchor 'admin_key' referenced");
  });

  test("only the first YAML document counts", () => {
    const result = translateButane("variant: fcos\nversion: 1.5.0\n---\nthis is: [not even valid\n");
    expect(result.ok && result.ignitionJson).toBe('{"ignition":{"version":"3.4.0"}}');
  });

  test("the translator module does no I/O", () => {
    const directory = join(import.meta.dir, "../../../src/boot/butane");
    const files = readdirSync(directory).filter((file) => file.endsWith(".ts"));
    expect(files).toContain("index.ts");
    for (const file of files) {
      const text = readFileSync(join(directory, file), "utf8");
      expect(text).not.toMatch(/from "node:|from "fs"|from "bun"|\bBun\.|\bprocess\./);
    }
  });
});
