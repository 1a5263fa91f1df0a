import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { formatButaneDiagnostic, translateButane } from "../../../src/boot/butane/index.ts";
import { loadInvalidCases, loadValidCases } from "./corpus.ts";

const validCases = loadValidCases();
const invalidCases = loadInvalidCases();

describe("Butane corpus: valid documents translate to the hand-written Ignition JSON", () => {
  test("the corpus covers every supported variant/version", () => {
    const covered = new Set(validCases.map((entry) => `${entry.variant} ${entry.butaneVersion}`));
    for (const version of ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0", "1.6.0"]) expect(covered).toContain(`fcos ${version}`);
    for (const version of ["1.0.0", "1.1.0"]) expect(covered).toContain(`flatcar ${version}`);
    expect(validCases.length + invalidCases.length).toBeGreaterThanOrEqual(40);
    expect(invalidCases.length).toBeGreaterThanOrEqual(15);
  });

  for (const entry of validCases) {
    test(entry.name, () => {
      const result = translateButane(entry.source, { expectedVariant: entry.variant });
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

describe("Butane corpus: invalid documents report the YAML path and position", () => {
  for (const entry of invalidCases) {
    test(entry.name, () => {
      const result = translateButane(entry.source, entry.expectedVariant ? { expectedVariant: entry.expectedVariant } : undefined);
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
  test("reports every unknown key at once, each at its own key", () => {
    const result = translateButane("variant: fcos\nversion: 1.5.0\nstorage:\n  filez: []\nsystemd:\n  unitz: []\n");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatButaneDiagnostic)).toEqual([
      "storage.filez (line 4, column 3): Unused key filez",
      "systemd.unitz (line 6, column 3): Unused key unitz",
    ]);
  });

  test("an empty or non-mapping document asks for a variant", () => {
    for (const source of ["", "just a string\n", "- a\n- b\n"]) {
      const result = translateButane(source);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors[0]?.path).toBe("variant");
    }
  });

  test("flatcar documents are accepted when the secret's format is flatcar", () => {
    const result = translateButane("variant: flatcar\nversion: 1.1.0\n", { expectedVariant: "flatcar" });
    expect(result).toEqual({ ok: true, ignitionJson: '{"ignition":{"version":"3.4.0"}}', ignitionVersion: "3.4.0", warnings: [] });
  });

  test("experimental Butane versions are not supported", () => {
    const result = translateButane("variant: fcos\nversion: 1.7.0-experimental\n");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]?.message).toBe("No translator exists for variant fcos with version 1.7.0-experimental");
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
