// Butane warnings are served, logged once per secret version, and surface as the IgnitionWarnings condition.
import { describe, expect, test } from "bun:test";
import type { Secret } from "../../src/api/secret.ts";
import type { Diagnosis } from "../../src/boot/diagnose.ts";
import { IgnitionCache, translateIgnitionSource } from "../../src/boot/ignition.ts";
import { CONDITION_IGNITION_WARNINGS, desiredStatus, RECONCILER_CONDITIONS, statusUpToDate } from "../../src/controllers/conditions.ts";
import type { SecretEntry } from "../../src/index/boot-index.ts";

const TYPO = "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/a\n      permissions: 0644\n";

function secret(source: string): SecretEntry {
  const object: Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "ign", namespace: "ns" }, stringData: { ignition: source, format: "fcos" } };
  return {
    key: "ns/ign",
    object,
    values: new Map([
      ["ignition", source],
      ["format", "fcos"],
    ]),
  };
}

describe("Butane warnings", () => {
  test("an unused key is served, with the warning spelled out", () => {
    const outcome = translateIgnitionSource(TYPO, "fcos", "ns/ign");
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.json).toBe('{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/a"}]}}');
    expect(outcome.warnings).toEqual(["storage.files.0.permissions (line 6, column 7): unused key permissions"]);
  });

  test("a flatcar document under format fcos translates as flatcar", () => {
    const outcome = translateIgnitionSource("variant: flatcar\nversion: 1.1.0\n", "fcos", "ns/ign");
    expect(outcome.ok && outcome.json).toBe('{"ignition":{"version":"3.4.0"}}');
  });

  test("the cache reports warnings once per secret version, not once per request", () => {
    const cache = new IgnitionCache();
    const reported: string[][] = [];
    cache.onWarnings = (_secret, warnings) => reported.push([...warnings]);
    for (let request = 0; request < 5; request++) expect(cache.outcomeFor(secret(TYPO)).ok).toBe(true);
    expect(reported).toHaveLength(1);
    cache.outcomeFor(secret(`${TYPO}      owner: root\n`));
    expect(reported).toHaveLength(2);
    expect(reported[1]).toHaveLength(2);
    cache.outcomeFor(secret("variant: fcos\nversion: 1.5.0\n"));
    expect(reported).toHaveLength(2);
  });
});

describe("the IgnitionWarnings condition", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const base: Diagnosis = { kind: "IPXEBootConfig", key: "ns/a", state: "Ready", problems: [], warnings: [] };

  test("is owned by the reconciler", () => {
    expect(RECONCILER_CONDITIONS).toContain(CONDITION_IGNITION_WARNINGS);
  });

  test("is True with the warnings while Butane warns, False without; Ready stays True", () => {
    const remark = "secret ns/ign: storage.files.0.permissions (line 6, column 7): unused key permissions";
    const warned = desiredStatus({ ...base, warnings: [remark], ignitionWarnings: [remark] }, 3, [], now);
    expect(warned.conditions[0]).toMatchObject({ type: "Ready", status: "True" });
    expect(warned.conditions.find((condition) => condition.type === CONDITION_IGNITION_WARNINGS)).toMatchObject({
      status: "True",
      reason: "ButaneWarnings",
      message: remark,
      observedGeneration: 3,
    });
    const clean = desiredStatus(base, 3, warned.conditions, new Date("2026-01-02T00:00:00Z"));
    const condition = clean.conditions.find((entry) => entry.type === CONDITION_IGNITION_WARNINGS);
    expect(condition).toMatchObject({ status: "False", reason: "NoWarnings" });
    expect(condition?.lastTransitionTime).toBe("2026-01-02T00:00:00Z");
    // A status that still says "True" is stale and gets rewritten.
    expect(statusUpToDate(clean, { state: "Ready", conditions: warned.conditions })).toBe(false);
  });
});
