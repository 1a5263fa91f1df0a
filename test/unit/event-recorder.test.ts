// The event recorder writes a few Events at a time and queues the rest in order, so a fleet's first statuses do
// not share the API server's throughput with as many Events.
import { expect, test } from "bun:test";
import { EventRecorder } from "../../src/controllers/events.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import { createLogger } from "../../src/observability/log.ts";

test("at most maxInFlight Events are written at once; every one is written, in order", async () => {
  let inFlight = 0;
  let most = 0;
  const written: string[] = [];
  const client = {
    request: async (_method: string, _path: string, options: { body: { reason: string } }) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await Bun.sleep(1);
      written.push(options.body.reason);
      inFlight--;
      return {};
    },
  } as unknown as KubeClient;
  const recorder = new EventRecorder(client, createLogger("error"), { component: "test", maxInFlight: 3 });
  const reasons = Array.from({ length: 25 }, (_, i) => `R${i}`);
  const all = reasons.map((reason) => recorder.record({ kind: "IPXEBootConfig", namespace: "ns", name: "a" }, undefined, "Normal", reason, "m"));
  expect(recorder.pending).toBe(25);
  await Promise.all(all);
  expect(most).toBe(3);
  expect(written).toEqual(reasons);
  expect(recorder.pending).toBe(0);
});

function countingClient(written: string[]): KubeClient {
  return {
    request: async (_method: string, _path: string, options: { body: { reason: string } }) => {
      written.push(options.body.reason);
      return {};
    },
  } as unknown as KubeClient;
}

const ref = { kind: "IPXEBootConfig", namespace: "ns", name: "a" } as const;

test("while deferWhile says busy, Events wait; once it clears, every one is written, in order", async () => {
  const written: string[] = [];
  let busy = true;
  const recorder = new EventRecorder(countingClient(written), createLogger("error"), { deferWhile: () => busy, deferPollMs: 5 });
  const all = ["A", "B", "C", "D", "E", "F"].map((reason) => recorder.record(ref, undefined, "Normal", reason, "m"));
  await Bun.sleep(40);
  expect(written).toEqual([]);
  expect(recorder.pending).toBe(6);
  busy = false;
  await Promise.all(all);
  expect(written).toEqual(["A", "B", "C", "D", "E", "F"]);
  expect(recorder.pending).toBe(0);
  // Not busy: the next one goes out at once.
  await recorder.record(ref, undefined, "Normal", "G", "m");
  expect(written.at(-1)).toBe("G");
});

test("a deferred Event goes out after maxDeferMs even if the statuses never settle", async () => {
  const written: string[] = [];
  const recorder = new EventRecorder(countingClient(written), createLogger("error"), { deferWhile: () => true, maxDeferMs: 30, deferPollMs: 5 });
  const first = recorder.record(ref, undefined, "Normal", "A", "m");
  await Bun.sleep(15);
  const second = recorder.record(ref, undefined, "Normal", "B", "m");
  expect(written).toEqual([]);
  await first;
  expect(written).toEqual(["A"]);
  await second;
  expect(written).toEqual(["A", "B"]);
});
