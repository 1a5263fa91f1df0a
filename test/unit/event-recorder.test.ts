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
  const recorder = new EventRecorder(client, createLogger("error"), "test", 3);
  const reasons = Array.from({ length: 25 }, (_, i) => `R${i}`);
  const all = reasons.map((reason) => recorder.record({ kind: "IPXEBootConfig", namespace: "ns", name: "a" }, undefined, "Normal", reason, "m"));
  expect(recorder.pending).toBe(25);
  await Promise.all(all);
  expect(most).toBe(3);
  expect(written).toEqual(reasons);
  expect(recorder.pending).toBe(0);
});
