/**
 * Differential test: every document of test/oracle/butane-corpus goes through our translator and through the
 * real Butane v0.28.0, called exactly as the Go boot-operator calls it (scripts/butane-oracle: TranslateBytes
 * with Raw and NoResourceAutoCompression, no files directory; built by scripts/ensure/butane.sh).
 *
 * - valid/:       both translate, neither warns, and the Ignition JSON is byte-identical;
 * - warning/:     both translate to identical JSON, and report the same warnings (path, line, column, message);
 * - invalid/:     both refuse;
 * - unsupported/: Butane translates, we refuse with our one-line "not supported by this server" (the mapped divergence).
 * The hand-written fixtures under test/fixtures/butane are held to the same agreement as a bonus.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type ButaneDiagnostic, translateButane } from "../../src/boot/butane/index.ts";

const CORPUS = join(import.meta.dir, "butane-corpus");
const FIXTURES = join(import.meta.dir, "../fixtures/butane");
const CATEGORIES = ["valid", "warning", "invalid", "unsupported"] as const;
type Category = (typeof CATEGORIES)[number];

function oracleDirectory(): string {
  const cacheRoot = process.env.BOOT_OPERATOR_CACHE ?? join(homedir(), ".cache", "boot-operator");
  return join(cacheRoot, "butane", "v0.28.0");
}

function findOracle(): string {
  const fromEnvironment = process.env.BUTANE_ORACLE;
  if (fromEnvironment) return fromEnvironment;
  const cached = join(oracleDirectory(), "butane-oracle");
  if (existsSync(cached)) return cached;
  throw new Error("butane-oracle not found: run scripts/ensure/butane.sh (or set BUTANE_ORACLE)");
}

interface OracleEntry {
  kind: string;
  path: string;
  line?: number;
  column?: number;
  message: string;
}

interface OracleOutcome {
  ok: boolean;
  ignition?: string;
  error?: string;
  entries: OracleEntry[];
}

const oracle = findOracle();

function runOracle(source: string): OracleOutcome {
  const run = Bun.spawnSync([oracle], { stdin: Buffer.from(source, "utf8") });
  // Exit 0: translated; 1: refused by Butane; anything else is the oracle failing, which must fail the test.
  if (run.exitCode !== 0 && run.exitCode !== 1) throw new Error(`butane-oracle failed (${run.exitCode}): ${run.stderr.toString()}`);
  const outcome = JSON.parse(run.stdout.toString()) as OracleOutcome;
  expect(outcome.ok).toBe(run.exitCode === 0);
  return outcome;
}

/** One comparable line per warning: Butane's `$.a.b` path, position and message. */
function oracleWarnings(outcome: OracleOutcome): string[] {
  return outcome.entries
    .filter((entry) => entry.kind === "warning")
    .map((entry) => `${entry.path} ${entry.line ?? "?"}:${entry.column ?? "?"} ${entry.message}`)
    .sort();
}

function ourWarnings(warnings: readonly ButaneDiagnostic[]): string[] {
  return warnings
    .map((warning) => `${warning.path === "" ? "$" : `$.${warning.path}`} ${warning.line ?? "?"}:${warning.column ?? "?"} ${warning.message}`)
    .sort();
}

function documents(directory: string): { name: string; source: string }[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory)
    .filter((file) => file.endsWith(".bu"))
    .sort()
    .map((file) => ({ name: file.replace(/\.bu$/, ""), source: readFileSync(join(directory, file), "utf8") }));
}

let agreed = 0;
let compared = 0;

/** Runs `check`; counts the document as agreeing only when every expectation held. */
function agreement(check: () => void): void {
  compared++;
  check();
  agreed++;
}

function compare(category: Category, source: string): void {
  const theirs = runOracle(source);
  const ours = translateButane(source);
  switch (category) {
    case "valid":
      expect(theirs.ok).toBe(true);
      expect(oracleWarnings(theirs)).toEqual([]);
      if (!ours.ok) throw new Error(`we refuse what Butane translates: ${JSON.stringify(ours.errors)}`);
      expect(ourWarnings(ours.warnings)).toEqual([]);
      expect(ours.ignitionJson).toBe(theirs.ignition ?? "");
      break;
    case "warning":
      expect(theirs.ok).toBe(true);
      expect(oracleWarnings(theirs).length).toBeGreaterThan(0);
      if (!ours.ok) throw new Error(`we refuse what Butane serves with warnings: ${JSON.stringify(ours.errors)}`);
      expect(ours.ignitionJson).toBe(theirs.ignition ?? "");
      expect(ourWarnings(ours.warnings)).toEqual(oracleWarnings(theirs));
      break;
    case "invalid":
      if (theirs.ok) throw new Error(`Butane translates a document filed as invalid: ${theirs.ignition}`);
      if (ours.ok) throw new Error(`we translate what Butane refuses (${theirs.error}): ${ours.ignitionJson}`);
      break;
    case "unsupported":
      expect(theirs.ok).toBe(true);
      expect(ours.ok).toBe(false);
      if (!ours.ok) expect(ours.errors[0]?.message).toContain("is not supported by this server");
      break;
  }
}

describe("the Butane oracle", () => {
  test("is Butane v0.28.0 and refuses what Butane refuses (so agreement means something)", () => {
    const butane = join(oracleDirectory(), "butane");
    if (existsSync(butane)) expect(Bun.spawnSync([butane, "--version"]).stdout.toString().trim()).toBe("Butane v0.28.0");
    const refused = runOracle("variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: relative\n");
    expect(refused.ok).toBe(false);
    expect(refused.entries.map((entry) => entry.message)).toContain("path not absolute");
  });
});

describe("butane differential: our translator against Butane v0.28.0", () => {
  const counts: Record<Category, number> = { valid: 0, warning: 0, invalid: 0, unsupported: 0 };
  for (const category of CATEGORIES) {
    for (const document of documents(join(CORPUS, category))) {
      counts[category]++;
      test(`${category}/${document.name}`, () => agreement(() => compare(category, document.source)));
    }
  }

  test("the corpus has at least 60 documents of every kind", () => {
    expect(counts.valid + counts.warning + counts.invalid).toBeGreaterThanOrEqual(60);
    expect(counts.valid).toBeGreaterThanOrEqual(25);
    expect(counts.warning).toBeGreaterThanOrEqual(10);
    expect(counts.invalid).toBeGreaterThanOrEqual(20);
  });
});

describe("butane differential: the hand-written fixtures agree with Butane too", () => {
  for (const directory of ["valid", "warnings", "invalid"]) {
    for (const document of documents(join(FIXTURES, directory))) {
      test(`fixtures/${directory}/${document.name}`, () =>
        agreement(() => {
          const theirs = runOracle(document.source);
          const ours = translateButane(document.source);
          expect(ours.ok).toBe(theirs.ok);
          if (ours.ok && theirs.ok) {
            expect(ours.ignitionJson).toBe(theirs.ignition ?? "");
            expect(ourWarnings(ours.warnings)).toEqual(oracleWarnings(theirs));
          }
        }));
    }
  }
});

afterAll(() => {
  console.log(`butane differential: ${agreed}/${compared} documents agree`);
});
