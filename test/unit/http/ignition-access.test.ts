// --ignition-access bound in process: tokens in iPXE scripts (once per window), /ignition checked, refusals that
// do not tell a known UUID from an unknown one, events and metrics for refusals and contests.
import { describe, expect, test } from "bun:test";
import type { AccessEvent } from "../../../src/boot/access/policy.ts";
import { IgnitionAccessPolicy } from "../../../src/boot/access/policy.ts";
import { ipxeConfig, secret } from "../fixtures.ts";
import { type TestApp, type TestAppOptions, testApp } from "./harness.ts";

const RAW = '{"ignition":{"version":"3.4.0"}}';
const UUID = "00000000-0000-4000-8000-000000000001";
const BOUND_UUID = "00000000-0000-4000-8000-000000000009";
const UNKNOWN_UUID = "00000000-0000-4000-8000-0000000000ff";

function boundApp(options: TestAppOptions = {}): TestApp & { events: AccessEvent[] } {
  const subject = testApp(
    {
      ipxe: [
        ipxeConfig("m1", { systemUUID: UUID, ignitionSecretRef: { name: "ign" } }, { uid: "uid-1", generation: 1 }),
        ipxeConfig("m9", { systemUUID: BOUND_UUID, systemIPs: ["10.0.0.9"], ignitionSecretRef: { name: "ign" } }, { uid: "uid-9", generation: 1 }),
      ],
      secrets: [secret("ign", { ignition: RAW })],
    },
    options,
  );
  const events: AccessEvent[] = [];
  subject.deps.ignitionAccess = new IgnitionAccessPolicy({ ttlMs: 3_600_000, maxUses: 3, keys: () => ({ current: Buffer.from("k".repeat(32)) }) });
  subject.deps.onAccessEvent = (event) => events.push(event);
  return Object.assign(subject, { events });
}

const tokenIn = (script: string): string | null => /ignition\.config\.url=\S*\?token=([A-Za-z0-9_.-]+)/.exec(script)?.[1] ?? null;

describe("--ignition-access bound", () => {
  test("the script carries a token; it fetches Ignition --token-uses times (a HEAD is free), then 403 token-used-up", async () => {
    const subject = boundApp();
    const script = await (await subject.request(`/ipxe/${UUID}`, { from: "10.0.0.5" })).text();
    const token = tokenIn(script);
    expect(token).not.toBeNull();
    expect(script).toContain(`ignition.config.url=http://boot.test:8082/ignition/\${uuid}?token=${token}`);
    expect((await subject.request(`/ignition/${UUID}?token=${token}`, { method: "HEAD", from: "10.0.0.66" })).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const response = await subject.request(`/ignition/${UUID}?token=${token}`, { from: "10.0.0.66" });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(RAW);
    }
    const refused = await subject.request(`/ignition/${UUID}?token=${token}`, { from: "10.0.0.66" });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toStartWith("ignition access denied: token-used-up");
    expect(subject.deps.metrics.ignitionDenied.get({ reason: "token-used-up" })).toBe(1);
    expect(subject.events).toEqual([
      { type: "denied", configKind: "IPXEBootConfig", configKey: "default/m1", reason: "token-used-up", requester: "10.0.0.66" },
    ]);
  });

  test("without a token: the same 403 for a known and an unknown UUID, GET and HEAD alike", async () => {
    const subject = boundApp();
    const known = await subject.request(`/ignition/${UUID}`, { from: "10.0.0.7" });
    const unknown = await subject.request(`/ignition/${UNKNOWN_UUID}`, { from: "10.0.0.7" });
    expect(known.status).toBe(403);
    expect(unknown.status).toBe(403);
    expect(await unknown.text()).toBe(await known.text());
    expect([...unknown.headers.entries()]).toEqual([...known.headers.entries()]);
    const forged = await subject.request(`/ignition/${UNKNOWN_UUID}?token=abc.def`, { from: "10.0.0.7" });
    expect(await forged.text()).toBe(await (await subject.request(`/ignition/${UUID}?token=abc.def`, { from: "10.0.0.7" })).text());
    expect((await subject.request(`/ignition/${UNKNOWN_UUID}`, { method: "HEAD", from: "10.0.0.7" })).status).toBe(403);
    expect(subject.deps.metrics.ignitionDenied.get({ reason: "no-token" })).toBe(3);
    // Only configs that exist get an event; the log names the requester either way.
    expect(subject.events.map((event) => (event.type === "denied" ? `${event.configKey} ${event.reason}` : event.type))).toEqual([
      "default/m1 no-token",
      "default/m1 token-invalid",
    ]);
    expect(subject.logs.some((line) => line.msg === "ignition fetch refused" && line.requester === "10.0.0.7")).toBe(true);
  });

  test("a machine fetching from one of its config's own addresses needs no token", async () => {
    const subject = boundApp();
    expect((await subject.request(`/ignition/${BOUND_UUID}`, { from: "10.0.0.9" })).status).toBe(200);
    expect((await subject.request(`/ignition/${BOUND_UUID}`, { from: "10.0.0.8" })).status).toBe(403);
  });

  test("a trusted proxy's X-Forwarded-For names the requester", async () => {
    const subject = boundApp({ settings: { trustedProxies: ["10.1.0.0/16"] } });
    const headers = { "X-Forwarded-For": "10.0.0.9" };
    expect((await subject.request(`/ignition/${BOUND_UUID}`, { from: "10.1.0.1", headers })).status).toBe(200);
    // The same header from an untrusted peer is not believed.
    expect((await subject.request(`/ignition/${BOUND_UUID}`, { from: "10.2.0.1", headers })).status).toBe(403);
  });

  test("issued once per window: the holder gets the same token again; another address gets none, counted and reported", async () => {
    const subject = boundApp();
    const first = tokenIn(await (await subject.request(`/ipxe/${UUID}`, { from: "10.0.0.5" })).text());
    const repeat = tokenIn(await (await subject.request(`/ipxe/${UUID}`, { from: "10.0.0.5" })).text());
    expect(repeat).toBe(first);
    const contested = await (await subject.request(`/ipxe/${UUID}`, { from: "10.0.0.7" })).text();
    expect(contested).toContain(`ignition.config.url=http://boot.test:8082/ignition/\${uuid} `);
    expect(tokenIn(contested)).toBeNull();
    expect(subject.deps.metrics.ignitionTokenContested.get()).toBe(1);
    expect(subject.events).toEqual([{ type: "contested", configKind: "IPXEBootConfig", configKey: "default/m1", holder: "10.0.0.5", requester: "10.0.0.7" }]);
  });

  test("a HEAD does not take the window", async () => {
    const subject = boundApp();
    expect((await subject.request(`/ipxe/${UUID}`, { method: "HEAD", from: "10.0.0.7" })).status).toBe(200);
    expect(tokenIn(await (await subject.request(`/ipxe/${UUID}`, { from: "10.0.0.5" })).text())).not.toBeNull();
  });

  test("a custom ipxe-script Secret gets the token through {{.IgnitionURL}} (rendered on the serving thread)", async () => {
    const subject = testApp({
      ipxe: [ipxeConfig("custom", { systemUUID: UUID, ipxeScriptSecretRef: { name: "script" }, ignitionSecretRef: { name: "ign" } })],
      secrets: [secret("ign", { ignition: RAW }), secret("script", { "ipxe-script": "#!ipxe\nchain /uki/x.efi ignition.config.url={{.IgnitionURL}}\n" })],
    });
    subject.deps.ignitionAccess = new IgnitionAccessPolicy({ ttlMs: 60_000, maxUses: 3, keys: () => ({ current: Buffer.from("k".repeat(32)) }) });
    const script = await (await subject.request(`/ipxe/${UUID}`, { from: "10.0.0.5" })).text();
    const token = tokenIn(script);
    expect(token).not.toBeNull();
    expect((await subject.request(`/ignition/${UUID}?token=${token}`, { from: "10.0.0.66" })).status).toBe(200);
  });

  test("open mode: no token in scripts, Ignition for anyone", async () => {
    const subject = testApp({
      ipxe: [ipxeConfig("m1", { systemUUID: UUID, ignitionSecretRef: { name: "ign" } })],
      secrets: [secret("ign", { ignition: RAW })],
    });
    expect(tokenIn(await (await subject.request(`/ipxe/${UUID}`)).text())).toBeNull();
    expect((await subject.request(`/ignition/${UUID}`, { from: "10.0.0.7" })).status).toBe(200);
    expect((await subject.request(`/ignition/${UNKNOWN_UUID}`)).status).toBe(404);
  });
});
