// The status reconciler's decision branch by branch, without an API server: skip, wait for the snapshot, or write
// (and whether the state changed, which is logged and recorded as an Event).
import { describe, expect, test } from "bun:test";
import type { Diagnosis } from "../../src/boot/diagnose.ts";
import { fetchedConditions } from "../../src/controllers/served-status.ts";
import { planConfigStatus, type RawConfig } from "../../src/controllers/status-plan.ts";

const NOW = new Date("2026-02-02T10:00:00.789Z");
const ready: Diagnosis = { kind: "IPXEBootConfig", key: "ns/a", state: "Ready", problems: [], warnings: [] };
const broken: Diagnosis = { ...ready, state: "Error", problems: [{ reason: "SecretNotFound", message: "ignition secret ns/s does not exist" }] };

describe("planConfigStatus", () => {
  test("deleted: nothing to do", () => {
    expect(planConfigStatus(undefined, ready, NOW)).toEqual({ action: "none", why: "deleted" });
  });

  test("on the API server but not in the index: wait for the next snapshot", () => {
    expect(planConfigStatus({ metadata: { generation: 1 } }, undefined, NOW)).toEqual({ action: "await-snapshot" });
  });

  test("first status: written, and the state change is reported as a Normal BootConfigReady event", () => {
    const plan = planConfigStatus({ metadata: { generation: 2 } }, ready, NOW);
    if (plan.action !== "write") throw new Error(`expected a write, got ${plan.action}`);
    expect(plan.status.state).toBe("Ready");
    expect(plan.status.conditions.map((c) => [c.type, c.status, c.observedGeneration, c.lastTransitionTime])).toEqual([
      ["Ready", "True", 2, "2026-02-02T10:00:00Z"],
      ["IdentifiersUnique", "True", 2, "2026-02-02T10:00:00Z"],
    ]);
    expect(plan.transition).toEqual({
      from: "(none)",
      to: "Ready",
      reason: "BootConfigServable",
      message: "all referenced secrets exist and render",
      eventType: "Normal",
      eventReason: "BootConfigReady",
    });
  });

  test("up to date: nothing written", () => {
    const first = planConfigStatus({ metadata: { generation: 2 } }, ready, NOW);
    if (first.action !== "write") throw new Error("expected a write");
    expect(planConfigStatus({ metadata: { generation: 2 }, status: first.status }, ready, new Date())).toEqual({ action: "none", why: "up-to-date" });
  });

  test("a new generation with the same state: written without a transition", () => {
    const first = planConfigStatus({ metadata: { generation: 2 } }, ready, NOW);
    if (first.action !== "write") throw new Error("expected a write");
    const plan = planConfigStatus({ metadata: { generation: 3 }, status: first.status }, ready, new Date());
    expect(plan).toMatchObject({ action: "write", transition: undefined });
  });

  test("Ready → Error: a Warning event named after the problem", () => {
    const raw: RawConfig = { metadata: { generation: 2 }, status: { state: "Ready", conditions: [] } };
    const plan = planConfigStatus(raw, broken, NOW);
    expect(plan).toMatchObject({
      action: "write",
      status: { state: "Error" },
      transition: { from: "Ready", to: "Error", reason: "SecretNotFound", eventType: "Warning", eventReason: "SecretNotFound" },
    });
  });
});

describe("fetchedConditions (served-status writer)", () => {
  const at = new Date("2026-02-02T10:00:05.5Z");

  test("lays new fetches over the *Fetched conditions already there, never touching the reconciler's", () => {
    const existing = [
      { type: "Ready", status: "True" as const, reason: "BootConfigServable", message: "", lastTransitionTime: "2026-01-01T00:00:00Z" },
      { type: "IgnitionDataFetched", status: "True" as const, reason: "IgnitionDataDelivered", message: "old", lastTransitionTime: "2026-01-01T00:00:00Z" },
    ];
    const conditions = fetchedConditions(existing, 7, new Map([["IPXEScriptFetched", { client: "10.0.0.9", at }]]));
    expect(conditions.map((c) => c.type)).toEqual(["IgnitionDataFetched", "IPXEScriptFetched"]);
    expect(conditions[1]).toEqual({
      type: "IPXEScriptFetched",
      status: "True",
      reason: "IPXEScriptDelivered",
      message: "IPXE script has been successfully delivered to the client 10.0.0.9 at 2026-02-02T10:00:05.500Z.",
      lastTransitionTime: "2026-02-02T10:00:05Z",
      observedGeneration: 7,
    });
  });

  test("an unknown client and no generation", () => {
    const [condition] = fetchedConditions([], undefined, new Map([["IgnitionDataFetched", { client: "", at }]]));
    expect(condition).toMatchObject({ status: "True", reason: "IgnitionDataDelivered" });
    expect(condition?.message).toBe("Ignition data has been successfully delivered to the client (address unknown) at 2026-02-02T10:00:05.500Z.");
    expect(condition && "observedGeneration" in condition).toBe(false);
  });
});
