import { describe, expect, test } from "bun:test";
import type { Diagnosis } from "../../src/boot/diagnose.ts";
import { desiredStatus, statusUpToDate } from "../../src/controllers/conditions.ts";

const ready: Diagnosis = { kind: "IPXEBootConfig", key: "ns/a", state: "Ready", problems: [], warnings: [] };
const missing: Diagnosis = {
  ...ready,
  state: "Error",
  problems: [{ reason: "SecretNotFound", message: "ignition secret ns/s referenced by IPXEBootConfig ns/a does not exist" }],
};
const conflicted: Diagnosis = {
  ...ready,
  state: "Error",
  problems: [{ reason: "IdentifierConflict", message: "IPXEBootConfigs ns/b, ns/a all claim uuid x; ns/b is served" }],
};
const t0 = new Date("2026-01-01T00:00:00.123Z");
const t1 = new Date("2026-01-01T01:00:00Z");

describe("desiredStatus", () => {
  test("Ready with observedGeneration, RFC 3339 seconds", () => {
    const status = desiredStatus(ready, 3, [], t0);
    expect(status.state).toBe("Ready");
    expect(status.conditions[0]).toEqual({
      type: "Ready",
      status: "True",
      reason: "BootConfigServable",
      message: "all referenced secrets exist and render",
      observedGeneration: 3,
      lastTransitionTime: "2026-01-01T00:00:00Z",
    });
    expect(status.conditions[1]).toMatchObject({ type: "IdentifiersUnique", status: "True" });
  });
  test("NoConflict speaks for the config's own kind only (an HTTPBootConfig may share the UUID without conflict)", () => {
    expect(desiredStatus(ready, 1, [], t0).conditions[1]).toMatchObject({
      reason: "NoConflict",
      message: "no other IPXEBootConfig claims this config's identifiers",
    });
  });
  test("Error carries the first problem's reason and every message", () => {
    const status = desiredStatus({ ...missing, problems: [...missing.problems, ...conflicted.problems] }, 1, [], t0);
    expect(status.conditions[0]).toMatchObject({ status: "False", reason: "SecretNotFound" });
    expect(status.conditions[0].message).toContain("does not exist; IPXEBootConfigs");
    expect(status.conditions[1]).toMatchObject({ status: "False", reason: "IdentifierConflict" });
  });
  test("a conflict alone makes Ready false with reason IdentifierConflict", () => {
    expect(desiredStatus(conflicted, 1, [], t0).conditions[0]).toMatchObject({ status: "False", reason: "IdentifierConflict" });
  });
  test("lastTransitionTime moves only when the condition's status changes", () => {
    const first = desiredStatus(ready, 1, [], t0);
    const again = desiredStatus(ready, 2, first.conditions, t1);
    expect(again.conditions[0].lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    const broken = desiredStatus(missing, 2, first.conditions, t1);
    expect(broken.conditions[0].lastTransitionTime).toBe("2026-01-01T01:00:00Z");
    expect(broken.conditions[1].lastTransitionTime).toBe("2026-01-01T00:00:00Z");
  });
});

describe("statusUpToDate (write only on change)", () => {
  const desired = desiredStatus(ready, 4, [], t0);
  test("same state and conditions (times aside) → no write", () => {
    expect(statusUpToDate(desired, { state: "Ready", conditions: desiredStatus(ready, 4, [], t1).conditions })).toBe(true);
  });
  test("other conditions present (written by another manager) do not matter", () => {
    const extra = {
      type: "IPXEScriptFetched",
      status: "True" as const,
      reason: "IPXEScriptDelivered",
      message: "x",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    };
    expect(statusUpToDate(desired, { state: "Ready", conditions: [extra, ...desired.conditions] })).toBe(true);
  });
  test.each([
    ["no status", undefined],
    ["other state", { state: "Error", conditions: desired.conditions }],
    ["older generation", { state: "Ready", conditions: desiredStatus(ready, 3, [], t0).conditions }],
    ["other message", { state: "Ready", conditions: desired.conditions.map((c) => ({ ...c, message: "old" })) }],
    ["missing condition", { state: "Ready", conditions: desired.conditions.slice(0, 1) }],
  ])("%s → write", (_name, current) => expect(statusUpToDate(desired, current)).toBe(false));
});
