import { expect, test } from "bun:test";
import { objectKeyOf } from "../../src/sources/kube/reflector.ts";

test("object keys are namespace/name, or name for cluster-scoped objects", () => {
  expect(objectKeyOf({ metadata: { name: "a", namespace: "ns" } })).toBe("ns/a");
  expect(objectKeyOf({ metadata: { name: "node-1" } })).toBe("node-1");
});
