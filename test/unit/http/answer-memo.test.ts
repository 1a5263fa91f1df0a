// The per-index answer memo of the hot boot routes: an answer holds only for the index it came from, the memo
// starts over past its limit, and a repeat through the routes answers exactly what the first request did, with the
// served event (recorded once per client and second, counted every time), until the index changes.
import { describe, expect, setSystemTime, test } from "bun:test";
import type { ServedEvent } from "../../../src/boot/served.ts";
import { AnswerMemo, isRecentRepeat, REPEAT_WINDOW_MS, type RecordedFetch } from "../../../src/http/answer-memo.ts";
import { httpConfig, ipxeConfig, secret } from "../fixtures.ts";
import { testApp } from "./harness.ts";

const UUID = "4c4c4544-0042-3510-8052-b4c04f4a4e31";

describe("AnswerMemo", () => {
  test("an entry holds for its own index only; a raced set is dropped; past the limit it starts over", () => {
    const first = {};
    const second = {};
    const memo = new AnswerMemo<string>(() => 2);
    memo.set(first, first, "a", "A");
    expect(memo.get(first, "a")).toBe("A");
    expect(memo.get(second, "a")).toBeUndefined();
    memo.set(first, second, "b", "stale");
    expect(memo.get(first, "b")).toBeUndefined();
    memo.set(first, first, "b", "B");
    expect(memo.size).toBe(2);
    memo.set(first, first, "c", "C");
    expect(memo.size).toBe(1);
    expect(memo.get(first, "c")).toBe("C");
    memo.set(second, second, "a", "A2");
    expect(memo.get(first, "c")).toBeUndefined();
    expect(memo.get(second, "a")).toBe("A2");
  });

  test("scopes keep equal keys apart; the limit counts the entries of every scope", () => {
    const index = {};
    const memo = new AnswerMemo<string>(() => 4);
    memo.set(index, index, "10.0.0.9", "via A", "192.0.2.1");
    memo.set(index, index, "10.0.0.9", "via B", "192.0.2.2");
    memo.set(index, index, "10.0.0.9", "unscoped");
    expect([memo.get(index, "10.0.0.9", "192.0.2.1"), memo.get(index, "10.0.0.9", "192.0.2.2"), memo.get(index, "10.0.0.9")]).toEqual([
      "via A",
      "via B",
      "unscoped",
    ]);
    expect(memo.get(index, "10.0.0.9", "192.0.2.3")).toBeUndefined();
    memo.set(index, index, "10.0.0.9", "via A again", "192.0.2.1");
    expect(memo.size).toBe(3);
    memo.set(index, index, "10.0.0.10", "fourth", "192.0.2.2");
    expect(memo.size).toBe(4);
    memo.set(index, index, "10.0.0.11", "fifth", "192.0.2.1");
    expect(memo.size).toBe(1);
    expect(memo.get(index, "10.0.0.9", "192.0.2.2")).toBeUndefined();
  });

  test("clear forgets every entry; the release registered through afterStorm clears it", () => {
    const index = {};
    const releases: (() => void)[] = [];
    const memo = new AnswerMemo<string>(
      () => 10,
      (release) => releases.push(release),
    );
    memo.set(index, index, "a", "A");
    expect(releases).toHaveLength(1);
    releases[0]?.();
    expect(memo.size).toBe(0);
    expect(memo.get(index, "a")).toBeUndefined();
    memo.set(index, index, "a", "A again");
    expect(memo.get(index, "a")).toBe("A again");
  });
});

describe("remembered boot answers", () => {
  const resources = (kernel: string) => ({
    ipxe: [ipxeConfig("m1", { systemUUID: UUID, kernelURL: kernel, ignitionSecretRef: { name: "ign" } })],
    http: [httpConfig("h1", { systemUUID: UUID, networkIdentifiers: ["10.0.0.9"], ukiURL: kernel })],
    secrets: [secret("ign", { ignition: `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"${kernel}"}]}}` })],
  });

  test("a repeat answers the same and is counted, not recorded, until the window passes or another client asks; a new index answers anew at once", async () => {
    const subject = testApp(resources("http://files/v1"), { settings: { trustedProxies: ["127.0.0.0/8"] } });
    const xff = { headers: { "X-Forwarded-For": "10.0.0.9, 52:54:00:00:00:09" } };
    const ask = async (from = "127.0.0.1") => [
      await (await subject.request(`/ipxe/${UUID}`, { from })).text(),
      await (await subject.request(`/ignition/${UUID}`, { from })).text(),
      await (await subject.request("/httpboot", { ...xff, from })).text(),
    ];
    const milestones = () => subject.served.map((event) => event.milestone);
    const all: ServedEvent["milestone"][] = ["ipxe-script", "ignition", "httpboot"];
    const start = Date.parse("2026-12-07T12:00:00.000Z");
    try {
      setSystemTime(start);
      const first = await ask();
      expect(first.every((body) => body.includes("http://files/v1"))).toBe(true);
      setSystemTime(start + REPEAT_WINDOW_MS - 1);
      expect(await ask()).toEqual(first);
      expect(milestones()).toEqual(all);
      expect(subject.repeats).toEqual(all);
      // Another client's fetch is recorded (for /httpboot another proxy, whose answers are remembered apart).
      await ask("127.0.0.2");
      expect(milestones()).toEqual([...all, ...all]);
      // The window counts from the fetch last recorded.
      setSystemTime(start + REPEAT_WINDOW_MS);
      await ask("127.0.0.2");
      expect(milestones()).toEqual([...all, ...all]);
      setSystemTime(start + 2 * REPEAT_WINDOW_MS + 1);
      await ask("127.0.0.2");
      expect(milestones()).toEqual([...all, ...all, ...all]);
      expect(subject.served.at(-1)?.at.getTime()).toBe(start + 2 * REPEAT_WINDOW_MS + 1);

      const next = resources("http://files/v2");
      subject.deps.store.apply({ snapshot: { ipxeBootConfigs: next.ipxe, httpBootConfigs: next.http, secrets: next.secrets }, problems: [] });
      const changed = await ask("127.0.0.2");
      expect(changed.every((body) => body.includes("http://files/v2") && !body.includes("http://files/v1"))).toBe(true);
      // New answers: the first fetch after a change is recorded, even within the window.
      expect(milestones()).toEqual([...all, ...all, ...all, ...all]);
    } finally {
      setSystemTime();
    }
  });

  test("isRecentRepeat: same client within the window; a clock stepping back is no repeat", () => {
    const answer: RecordedFetch = {};
    expect(isRecentRepeat(answer, "10.0.0.1", 5_000)).toBe(false);
    expect(isRecentRepeat(answer, "10.0.0.1", 5_000 + REPEAT_WINDOW_MS - 1)).toBe(true);
    expect(isRecentRepeat(answer, "10.0.0.2", 5_001)).toBe(false);
    expect(isRecentRepeat(answer, "10.0.0.2", 5_000)).toBe(false);
    expect(isRecentRepeat(answer, "10.0.0.2", 5_000 + REPEAT_WINDOW_MS)).toBe(false);
    expect(answer).toEqual({ recordedClient: "10.0.0.2", recordedAt: 5_000 + REPEAT_WINDOW_MS });
  });

  test("once a storm is over the memos are let go: the next ask renders again and answers the same", async () => {
    const releases: (() => void)[] = [];
    let ukiLookups = 0;
    const subject = testApp(resources("http://files/v1"), {
      settings: {
        trustedProxies: ["127.0.0.1/32"],
        defaultUkiUrl: () => {
          ukiLookups++; // asked only when an /httpboot answer is rendered, not when it is remembered
          return undefined;
        },
      },
      afterStorm: (release) => releases.push(release),
    });
    expect(releases).toHaveLength(3); // /ipxe, /ignition and /httpboot
    const xff = { headers: { "X-Forwarded-For": "10.0.0.9, 52:54:00:00:00:09" } };
    const ask = async () => [
      await (await subject.request(`/ipxe/${UUID}`)).text(),
      await (await subject.request(`/ignition/${UUID}`)).text(),
      await (await subject.request("/httpboot", xff)).text(),
    ];
    const first = await ask();
    expect(await ask()).toEqual(first);
    expect(ukiLookups).toBe(1);
    for (const release of releases) release();
    expect(await ask()).toEqual(first);
    expect(ukiLookups).toBe(2);
    expect(await ask()).toEqual(first);
    expect(ukiLookups).toBe(2); // remembered again
  });

  test("the Host a script was rendered for, the identity query and another peer are never served from memory", async () => {
    const subject = testApp(resources("/uki/vmlinuz"), { settings: { publicUrl: undefined } });
    const a = await (await subject.request(`/ipxe/${UUID}`, { headers: { Host: "10.0.0.1:8082" } })).text();
    const b = await (await subject.request(`/ipxe/${UUID}`, { headers: { Host: "10.0.0.2:8082" } })).text();
    expect(a).toContain("http://10.0.0.1:8082/uki/vmlinuz");
    expect(b).toContain("http://10.0.0.2:8082/uki/vmlinuz");
    const unknownMac = await subject.request(`/ipxe/${UUID}?mac=zz`, { headers: { Host: "10.0.0.1:8082" } });
    expect(unknownMac.status).toBe(400);
    // /httpboot from another peer without a proxy is that peer's own answer (here: nobody's).
    const mine = await subject.request("/httpboot", { from: "10.0.0.9", headers: { Host: "10.0.0.1:8082" } });
    const stranger = await subject.request("/httpboot", { from: "10.0.0.8", headers: { Host: "10.0.0.1:8082" } });
    expect(mine.status).toBe(200);
    expect(stranger.status).toBe(404);
  });
});
