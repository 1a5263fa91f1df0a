// The status reconciler's decision branch by branch, without an API server: skip, wait for the snapshot, or write
// (and whether the state or the reason changed, which is logged and recorded as an Event), including versions that
// fail validation (created under the Go operator's looser CRD).
import { describe, expect, test } from "bun:test";
import type { Diagnosis } from "../../src/boot/diagnose.ts";
import { fetchedConditions } from "../../src/controllers/served-status.ts";
import { planConfigStatus, type RawConfig } from "../../src/controllers/status-plan.ts";
import type { InvalidSpec } from "../../src/sources/kube/kube-source.ts";

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
      ["IgnitionWarnings", "False", 2, "2026-02-02T10:00:00Z"],
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

  test("Error with a new reason: a Warning event for the new reason", () => {
    const first = planConfigStatus({ metadata: { generation: 2 } }, broken, NOW);
    if (first.action !== "write") throw new Error("expected a write");
    const butane: Diagnosis = { ...ready, state: "Error", problems: [{ reason: "ButaneTranslationFailed", message: "butane: bad" }] };
    expect(planConfigStatus({ metadata: { generation: 2 }, status: first.status }, butane, NOW)).toMatchObject({
      action: "write",
      transition: { from: "Error", to: "Error", reason: "ButaneTranslationFailed", eventType: "Warning" },
    });
  });
});

describe("planConfigStatus for a version that fails validation", () => {
  const uuidProblem: InvalidSpec = {
    problems: [{ path: "spec.systemUUID", message: "must be a UUID like 4c4c4544-0042-3510-8052-b4c04f4a4e31" }],
    servingPrevious: false,
  };
  const invalidRaw: RawConfig = {
    metadata: { generation: 4 },
    spec: { systemUUID: "abc", kernelURL: "dummy", initrdURL: "" },
    // What the Go operator left there: Ready, no conditions.
    status: { state: "Ready" },
  };

  test("a stale Ready becomes Error with Ready=False/InvalidSpec naming the field and its value, and a Warning event", () => {
    const plan = planConfigStatus(invalidRaw, undefined, NOW, uuidProblem);
    if (plan.action !== "write") throw new Error(`expected a write, got ${plan.action}`);
    expect(plan.status.state).toBe("Error");
    expect(plan.status.conditions[0]).toEqual({
      type: "Ready",
      status: "False",
      reason: "InvalidSpec",
      message: 'spec.systemUUID: must be a UUID like 4c4c4544-0042-3510-8052-b4c04f4a4e31 (got "abc"); not served until fixed',
      observedGeneration: 4,
      lastTransitionTime: "2026-02-02T10:00:00Z",
    });
    expect(plan.status.conditions[1]).toMatchObject({ type: "IdentifiersUnique", status: "Unknown", reason: "InvalidSpec", observedGeneration: 4 });
    expect(plan.transition).toMatchObject({ from: "Ready", to: "Error", eventType: "Warning", eventReason: "InvalidSpec" });
  });

  test("invalid wins over the diagnosis of the older version still served, and says that it is served", () => {
    const plan = planConfigStatus(invalidRaw, ready, NOW, { ...uuidProblem, servingPrevious: true });
    if (plan.action !== "write") throw new Error("expected a write");
    expect(plan.status.conditions[0].message).toEndWith("; the last valid version is still served");
  });

  test("several messages for one field are named once, each field in order", () => {
    const plan = planConfigStatus(invalidRaw, undefined, NOW, {
      servingPrevious: false,
      problems: [
        { path: "spec.kernelURL", message: "must be an http:// or https:// URL" },
        { path: "spec.kernelURL", message: "is not a parseable URL" },
        { path: "spec.initrdURL", message: "must be an http:// or https:// URL" },
        { path: "spec.bogus", message: "unknown field" },
      ],
    });
    if (plan.action !== "write") throw new Error("expected a write");
    expect(plan.status.conditions[0].message).toBe(
      'spec.kernelURL: must be an http:// or https:// URL, is not a parseable URL (got "dummy"); spec.initrdURL: must be an http:// or https:// URL (got ""); ' +
        "spec.bogus: unknown field; not served until fixed",
    );
  });

  test("written once: up to date afterwards, no second event", () => {
    const first = planConfigStatus(invalidRaw, undefined, NOW, uuidProblem);
    if (first.action !== "write") throw new Error("expected a write");
    expect(planConfigStatus({ ...invalidRaw, status: first.status }, undefined, new Date(), uuidProblem)).toEqual({ action: "none", why: "up-to-date" });
  });

  test("fixed: back to Ready, with a Normal event", () => {
    const first = planConfigStatus(invalidRaw, undefined, NOW, uuidProblem);
    if (first.action !== "write") throw new Error("expected a write");
    const plan = planConfigStatus({ metadata: { generation: 5 }, status: first.status }, ready, NOW, undefined);
    expect(plan).toMatchObject({ action: "write", status: { state: "Ready" }, transition: { from: "Error", to: "Ready", eventReason: "BootConfigReady" } });
  });
});

describe("fetchedConditions (served-status writer)", () => {
  const at = Date.parse("2026-02-02T10:00:05.5Z");

  test("lays new fetches over the *Fetched conditions already there, never touching the reconciler's", () => {
    const existing = [
      { type: "Ready", status: "True" as const, reason: "BootConfigServable", message: "", lastTransitionTime: "2026-01-01T00:00:00Z" },
      { type: "IgnitionDataFetched", status: "True" as const, reason: "IgnitionDataDelivered", message: "old", lastTransitionTime: "2026-01-01T00:00:00Z" },
    ];
    const conditions = fetchedConditions(existing, 7, [["IPXEScriptFetched", { client: "10.0.0.9", at }]]);
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
    const [condition] = fetchedConditions([], undefined, [["IgnitionDataFetched", { client: "", at }]]);
    expect(condition).toMatchObject({ status: "True", reason: "IgnitionDataDelivered" });
    expect(condition?.message).toBe("Ignition data has been successfully delivered to the client (address unknown) at 2026-02-02T10:00:05.500Z.");
    expect(condition && "observedGeneration" in condition).toBe(false);
  });
});
