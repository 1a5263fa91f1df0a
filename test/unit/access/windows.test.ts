// Issue once per boot window: the first fetcher holds it, repeats get the same token, others are contested; a
// window re-opens on a config change, a re-arm and open(); use counters and state stay bounded.
import { describe, expect, test } from "bun:test";
import type { ConfigAccessIdentity } from "../../../src/boot/access/decision.ts";
import { IgnitionAccessPolicy } from "../../../src/boot/access/policy.ts";
import { verifyToken } from "../../../src/boot/access/token.ts";
import { TokenWindows } from "../../../src/boot/access/windows.ts";

const KEYS = { current: Buffer.from("k".repeat(32)) };
const identity = (overrides: Partial<ConfigAccessIdentity> = {}): ConfigAccessIdentity => ({
  configId: "IPXEBootConfig|default/m1",
  uuid: "00000000-0000-4000-8000-000000000001",
  uid: "uid-1",
  generation: "1",
  rearm: "",
  ownIps: new Set(),
  ...overrides,
});
let counter = 0;
const windows = (ttlMs = 60_000, extra: { maxConfigs?: number; maxTokens?: number } = {}) =>
  new TokenWindows({ ttlMs, nonce: () => `n${counter++}`, ...extra });

describe("TokenWindows", () => {
  test("first fetch takes the window; the same address gets the same token; another is contested", () => {
    const state = windows();
    const first = state.scriptToken(identity(), "10.0.0.5", 1_000, KEYS);
    expect(first.kind).toBe("issued");
    const again = state.scriptToken(identity(), "10.0.0.5", 2_000, KEYS);
    expect(again).toEqual({ ...first, kind: "repeated" } as typeof again);
    expect(state.scriptToken(identity(), "10.0.0.7", 3_000, KEYS)).toEqual({ kind: "contested", holder: "10.0.0.5" });
    expect(state.holderOf("IPXEBootConfig|default/m1")).toBe("10.0.0.5");
  });

  test("the token names the config as it is, and expires after the TTL", () => {
    const outcome = windows(90_000).scriptToken(identity({ generation: "7" }), "10.0.0.5", 10_000, KEYS);
    if (outcome.kind !== "issued") throw new Error(outcome.kind);
    const verified = verifyToken(outcome.token, KEYS);
    expect(verified.ok && verified.claims).toMatchObject({ uid: "uid-1", generation: "7", expiresAt: 100 });
  });

  test("an unknown requester gets no token and does not take the window", () => {
    const state = windows();
    expect(state.scriptToken(identity(), null, 1_000, KEYS)).toEqual({ kind: "unknown-requester" });
    expect(state.scriptToken(identity(), "10.0.0.5", 1_000, KEYS).kind).toBe("issued");
  });

  test.each([
    ["a generation change", { generation: "2" }],
    ["a re-created config (new uid)", { uid: "uid-2" }],
    ["a re-arm", { rearm: "digest" }],
  ])("%s opens a new window", (_name, change) => {
    const state = windows();
    state.scriptToken(identity(), "10.0.0.5", 1_000, KEYS);
    expect(state.scriptToken(identity(change), "10.0.0.7", 2_000, KEYS).kind).toBe("issued");
    expect(state.scriptToken(identity(change), "10.0.0.5", 3_000, KEYS).kind).toBe("contested");
  });

  test("open() (the SBC turned Ready) opens a new window with a new token", () => {
    const state = windows();
    const first = state.scriptToken(identity(), "10.0.0.5", 1_000, KEYS);
    state.open("IPXEBootConfig|default/m1");
    const second = state.scriptToken(identity(), "10.0.0.7", 2_000, KEYS);
    expect(second.kind).toBe("issued");
    expect(second).not.toEqual(first);
  });

  test("the holder asking after its token expired gets a fresh one; nobody else does", () => {
    const state = windows(1_000);
    const first = state.scriptToken(identity(), "10.0.0.5", 0, KEYS);
    const later = state.scriptToken(identity(), "10.0.0.5", 5_000, KEYS);
    expect(later.kind).toBe("repeated");
    if (first.kind !== "issued" || later.kind !== "repeated") throw new Error("unexpected");
    expect(later.token).not.toBe(first.token);
    expect(later.expiresAtMs).toBe(6_000);
    expect(state.scriptToken(identity(), "10.0.0.7", 5_000, KEYS).kind).toBe("contested");
  });

  test("after a key rotation the holder gets a token signed with the new key", () => {
    const state = windows();
    const first = state.scriptToken(identity(), "10.0.0.5", 0, KEYS);
    const rotated = { current: Buffer.from("r".repeat(32)), previous: KEYS.current };
    const again = state.scriptToken(identity(), "10.0.0.5", 1_000, rotated);
    if (first.kind !== "issued" || again.kind !== "repeated") throw new Error("unexpected");
    expect(again.token).not.toBe(first.token);
    expect(verifyToken(again.token, { current: rotated.current }).ok).toBe(true);
    expect(state.scriptToken(identity(), "10.0.0.5", 2_000, rotated)).toEqual(again);
  });

  test("state is bounded: beyond maxConfigs the oldest windows are forgotten, beyond maxTokens expired counters go", () => {
    const state = windows(60_000, { maxConfigs: 2, maxTokens: 2 });
    for (const name of ["a", "b", "c"]) state.scriptToken(identity({ configId: name }), "10.0.0.5", 0, KEYS);
    expect(state.holderOf("a")).toBeNull();
    expect(state.holderOf("c")).toBe("10.0.0.5");
    state.recordUse("s1", 1_000, 0);
    state.recordUse("s2", 100_000, 0);
    state.recordUse("s3", 100_000, 5_000);
    expect(state.usesOf("s1")).toBe(0);
    expect(state.usesOf("s2")).toBe(1);
    expect(state.usesOf("s3")).toBe(1);
  });
});

describe("IgnitionAccessPolicy", () => {
  test("a token allows --token-uses fetches, then token-used-up; a rotated-in key still accepts it", () => {
    let now = 0;
    let keys: { current: Buffer; previous?: Buffer } = KEYS;
    const policy = new IgnitionAccessPolicy({ ttlMs: 60_000, maxUses: 3, keys: () => keys, now: () => now });
    const outcome = policy.scriptToken(identity(), "10.0.0.5");
    if (outcome.kind !== "issued") throw new Error(outcome.kind);
    for (let i = 0; i < 3; i++) expect(policy.admit(identity(), "10.0.0.66", outcome.token).allow).toBe(true);
    expect(policy.admit(identity(), "10.0.0.66", outcome.token)).toEqual({ allow: false, reason: "token-used-up" });
    const second = new IgnitionAccessPolicy({ ttlMs: 60_000, maxUses: 3, keys: () => keys, now: () => now });
    keys = { current: Buffer.from("n".repeat(32)), previous: KEYS.current };
    expect(second.admit(identity(), "10.0.0.66", outcome.token).allow).toBe(true);
    expect(second.preview(identity(), "10.0.0.66", outcome.token).allow).toBe(true);
    now = 61_000;
    expect(second.admit(identity(), "10.0.0.66", outcome.token)).toEqual({ allow: false, reason: "token-expired" });
  });
});
