// Telling another status writer from our own echoes, and when a fight is reported: managedFields parsing
// (status-owners.ts) and the tracker's rules (status-fight.ts), on made-up times.
import { describe, expect, test } from "bun:test";
import {
  DEFAULT_FIGHT_OPTIONS,
  fightMessage,
  ownedStatusFingerprint,
  RECONCILER_STATUS_FIELDS,
  rivalsOf,
  StatusFightTracker,
} from "../../src/controllers/status-fight.ts";
import { statusFieldOwners } from "../../src/sources/kube/status-owners.ts";

const OURS = new Set(["boot-operator", "boot-operator-served"]);

/** managedFields as the API server returns them for an object both operators wrote. */
const managedFields = [
  { manager: "kubectl-client-side-apply", operation: "Update", fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:systemUUID": {} } } },
  {
    manager: "boot-operator",
    operation: "Apply",
    subresource: "status",
    fieldsV1: {
      "f:status": {
        "f:conditions": { 'k:{"type":"Ready"}': { ".": {}, "f:status": {} }, 'k:{"type":"IdentifiersUnique"}': { ".": {}, "f:status": {} } },
      },
    },
  },
  {
    manager: "boot-operator-served",
    operation: "Apply",
    subresource: "status",
    fieldsV1: { "f:status": { "f:conditions": { 'k:{"type":"IPXEScriptFetched"}': {} } } },
  },
  // The Go operator: a merge patch of status.state (manager named after its binary).
  { manager: "manager", operation: "Update", subresource: "status", fieldsV1: { "f:status": { ".": {}, "f:state": {} } } },
];

describe("statusFieldOwners (managedFields → who owns which status fields)", () => {
  test("only entries owning something under status, condition entries by type", () => {
    expect(statusFieldOwners(managedFields)).toEqual([
      { manager: "boot-operator", operation: "Apply", fields: ["conditions[Ready]", "conditions[IdentifiersUnique]"] },
      { manager: "boot-operator-served", operation: "Apply", fields: ["conditions[IPXEScriptFetched]"] },
      { manager: "manager", operation: "Update", fields: ["state"] },
    ]);
  });

  test("an atomic conditions list (the Go project's CRD) is owned as a whole", () => {
    expect(statusFieldOwners([{ manager: "manager", operation: "Update", fieldsV1: { "f:status": { "f:conditions": {} } } }])).toEqual([
      { manager: "manager", operation: "Update", fields: ["conditions"] },
    ]);
  });

  test.each([[undefined], ["nope"], [[null, 1, { manager: 2 }, { manager: "x" }, { manager: "y", fieldsV1: { "f:status": "bad" } }]]])(
    "garbage in (%j) → nothing out",
    (input) => expect(statusFieldOwners(input)).toEqual([]),
  );
});

describe("rivalsOf", () => {
  test("another manager owning one of our fields is a rival; our own managers and other fields are not", () => {
    expect(rivalsOf(statusFieldOwners(managedFields), OURS)).toEqual([{ manager: "manager", operation: "Update", fields: ["state"] }]);
  });

  test("a whole atomic list covers our conditions", () => {
    expect(rivalsOf([{ manager: "manager", operation: "Update", fields: ["conditions"] }], OURS)).toEqual([
      { manager: "manager", operation: "Update", fields: RECONCILER_STATUS_FIELDS.filter((field) => field.startsWith("conditions")) },
    ]);
  });

  test("someone owning only the *Fetched conditions is no rival of the reconciler", () => {
    expect(rivalsOf([{ manager: "manager", operation: "Update", fields: ["conditions[IgnitionDataFetched]"] }], OURS)).toEqual([]);
  });
});

describe("ownedStatusFingerprint", () => {
  const ready = {
    type: "Ready",
    status: "False" as const,
    reason: "InvalidSpec",
    message: "m",
    lastTransitionTime: "2026-01-01T00:00:00Z",
    observedGeneration: 2,
  };
  test("times and other conditions aside", () => {
    const fetched = {
      type: "IPXEScriptFetched",
      status: "True" as const,
      reason: "IPXEScriptDelivered",
      message: "x",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    };
    expect(ownedStatusFingerprint({ state: "Error", conditions: [ready] })).toBe(
      ownedStatusFingerprint({ state: "Error", conditions: [fetched, { ...ready, lastTransitionTime: "2027-01-01T00:00:00Z" }] }),
    );
  });
  test("state flipped → different", () => {
    expect(ownedStatusFingerprint({ state: "Error", conditions: [ready] })).not.toBe(ownedStatusFingerprint({ state: "Ready", conditions: [ready] }));
  });
});

describe("StatusFightTracker", () => {
  const rival = [{ manager: "manager", operation: "Update", fields: ["state"] }];
  const options = { windowMs: 60_000, threshold: 3, logIntervalMs: 300_000, quietMs: 600_000 };

  test("one rewrite contests the object but is no fight; the third within the window is: logged and one Event", () => {
    const tracker = new StatusFightTracker(options);
    expect(tracker.contested("a", 0)).toBe(false);
    expect(tracker.observe("a", rival, 0)).toMatchObject({ rewrites: 1, log: false, event: false });
    expect(tracker.contested("a", 1)).toBe(true);
    expect(tracker.observe("a", rival, 1_000)).toMatchObject({ rewrites: 2, log: false, event: false });
    expect(tracker.observe("a", rival, 2_000)).toEqual({ rewrites: 3, managers: ["manager"], log: true, event: true });
    // Still fighting: neither logged again before the interval nor a second Event.
    expect(tracker.observe("a", rival, 3_000)).toMatchObject({ log: false, event: false });
    for (let at = 10_000; at < 302_000; at += 10_000) expect(tracker.observe("a", rival, at)).toMatchObject({ log: false, event: false });
    expect(tracker.observe("a", rival, 302_000)).toMatchObject({ log: true, event: false });
  });

  test("rewrites spread wider than the window are no fight", () => {
    const tracker = new StatusFightTracker(options);
    for (const at of [0, 61_000, 122_000, 183_000]) expect(tracker.observe("a", rival, at)).toMatchObject({ rewrites: 1, event: false });
  });

  test("objects are tracked apart", () => {
    const tracker = new StatusFightTracker(options);
    tracker.observe("a", rival, 0);
    tracker.observe("a", rival, 1);
    expect(tracker.observe("b", rival, 2)).toMatchObject({ rewrites: 1 });
  });

  test("after a quiet spell a new fight is reported afresh; prune forgets objects at peace", () => {
    const tracker = new StatusFightTracker(options);
    for (const at of [0, 1, 2]) tracker.observe("a", rival, at);
    expect(tracker.contested("a", 60_002)).toBe(false);
    tracker.prune(100_000);
    expect(tracker.size).toBe(1);
    for (const at of [700_000, 700_001]) tracker.observe("a", rival, at);
    expect(tracker.observe("a", rival, 700_002)).toMatchObject({ event: true });
    tracker.prune(1_400_000);
    expect(tracker.size).toBe(0);
  });

  test("the message names the managers and the fields and says what to do", () => {
    const message = fightMessage({ rewrites: 5, managers: ["manager"], log: true, event: true }, rival, DEFAULT_FIGHT_OPTIONS.windowMs);
    expect(message).toContain('5 rewrites in 60 s by "manager"');
    expect(message).toContain('field manager "manager" (Update) owns status state');
    expect(message).toContain("scale it to zero");
  });
});
