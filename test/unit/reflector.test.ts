import { expect, test } from "bun:test";
import { backoffDelay, objectKeyOf } from "../../src/sources/kube/reflector.ts";

test("full-jitter backoff stays within [min, min·2^n] and caps at max", () => {
  expect(backoffDelay(0, 500, 30_000, () => 0)).toBe(500);
  expect(backoffDelay(0, 500, 30_000, () => 1)).toBe(500);
  expect(backoffDelay(3, 500, 30_000, () => 1)).toBe(4_000);
  expect(backoffDelay(3, 500, 30_000, () => 0.5)).toBe(2_250);
  expect(backoffDelay(50, 500, 30_000, () => 1)).toBe(30_000);
});

test("object keys are namespace/name, or name for cluster-scoped objects", () => {
  expect(objectKeyOf({ metadata: { name: "a", namespace: "ns" } })).toBe("ns/a");
  expect(objectKeyOf({ metadata: { name: "node-1" } })).toBe("node-1");
});
