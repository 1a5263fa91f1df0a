/**
 * Every successful translation in the corpus is judged by the real `ignition-validate` (Debian package
 * `ignition`, Ignition 2.14, provided by scripts/ensure/ignition.sh). The test fails when the validator is
 * missing. Ignition 2.14 knows specs 3.0.0–3.3.0 and 3.4.0-experimental: 3.4.0 output is validated with its
 * version rewritten to 3.4.0-experimental, and 3.5.0 output (fcos 1.6.0) cannot be judged by it.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { translateButane } from "../../src/boot/butane/index.ts";
import { loadValidCases } from "../unit/butane/corpus.ts";

function findValidator(): string {
  const fromEnvironment = process.env.IGNITION_VALIDATE;
  if (fromEnvironment) return fromEnvironment;
  const cacheRoot = process.env.BOOT_OPERATOR_CACHE ?? join(homedir(), ".cache", "boot-operator");
  const cached = join(cacheRoot, "ignition", "current", "ignition-validate");
  if (existsSync(cached)) return cached;
  const onPath = Bun.which("ignition-validate");
  if (onPath) return onPath;
  throw new Error("ignition-validate not found: run scripts/ensure/ignition.sh (or set IGNITION_VALIDATE)");
}

/**
 * Fields added to 3.4.0 after Ignition 2.14 shipped 3.4.0-experimental: that validator reports them as
 * "Unused key" warnings (not errors). Any other warning must also have been reported by our translator.
 */
const FIELDS_UNKNOWN_TO_3_4_EXPERIMENTAL = new Set(["discard", "openOptions", "advertisement"]);

const JUDGEABLE = new Set(["3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0"]);

interface OracleFinding {
  severity: "error" | "warning";
  path: string;
  message: string;
}

function parseOracleOutput(output: string): OracleFinding[] {
  const findings: OracleFinding[] = [];
  for (const line of output.split("\n")) {
    const match = /^(error|warning) at \$\.?([^,]*), line \d+ col \d+: (.*)$/.exec(line.trim());
    if (match?.[1] && match[3] !== undefined) {
      findings.push({ severity: match[1] === "error" ? "error" : "warning", path: match[2] ?? "", message: match[3] });
    } else if (line.trim() !== "") {
      findings.push({ severity: "error", path: "", message: line.trim() });
    }
  }
  return findings;
}

const cases = loadValidCases();
const judged = cases.filter((entry) => JUDGEABLE.has(entry.expectedIgnitionVersion));
const notJudged = cases.filter((entry) => !JUDGEABLE.has(entry.expectedIgnitionVersion));

describe("ignition-validate oracle", () => {
  const validator = findValidator();
  const workDirectory = mkdtempSync(join(tmpdir(), "butane-oracle-"));

  test("the validator runs", () => {
    const version = Bun.spawnSync([validator, "--version"]);
    expect(version.exitCode).toBe(0);
    expect(version.stdout.toString()).toContain("2.14");
  });

  test("the validator rejects an invalid config (so a pass means something)", () => {
    const file = join(workDirectory, "relative-path.ign");
    writeFileSync(file, '{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"etc/x"}]}}');
    const run = Bun.spawnSync([validator, file]);
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout.toString() + run.stderr.toString()).toContain("path not absolute");
  });

  test(`${judged.length} outputs are judged; outputs it cannot judge are only the 3.5.0/3.6.0 ones`, () => {
    expect(judged.length).toBeGreaterThanOrEqual(20);
    for (const entry of notJudged) expect(["3.5.0", "3.6.0"]).toContain(entry.expectedIgnitionVersion);
  });

  for (const entry of judged) {
    test(`${entry.name} (Ignition ${entry.expectedIgnitionVersion}) passes ignition-validate`, () => {
      const result = translateButane(entry.source);
      if (!result.ok) throw new Error(`translation failed: ${JSON.stringify(result.errors)}`);
      const json =
        result.ignitionVersion === "3.4.0" ? result.ignitionJson.replace('"version":"3.4.0"', '"version":"3.4.0-experimental"') : result.ignitionJson;
      const file = join(workDirectory, `${entry.name}.ign`);
      writeFileSync(file, json);
      const run = Bun.spawnSync([validator, file]);
      const findings = parseOracleOutput(`${run.stdout.toString()}\n${run.stderr.toString()}`);
      expect(findings.filter((finding) => finding.severity === "error")).toEqual([]);
      expect(run.exitCode).toBe(0);
      for (const warning of findings) {
        const field = /^Unused key (\S+)$/.exec(warning.message)?.[1];
        if (field && result.ignitionVersion === "3.4.0" && FIELDS_UNKNOWN_TO_3_4_EXPERIMENTAL.has(field)) continue;
        // Any other warning of the validator must be one our translator reported as well (Ignition 2.14 words
        // the special-mode warning for 3.4.0; the Ignition 2.26 that Butane v0.28.0 uses, for 3.6.0).
        const message = warning.message.replace(
          "setuid/setgid/sticky bits are not supported in spec versions older than 3.4.0",
          "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
        );
        expect(result.warnings.map((ours) => ours.message)).toContain(message);
      }
    });
  }

  test("cleanup", () => {
    rmSync(workDirectory, { recursive: true, force: true });
  });
});
