// A Secret's values as serving reads them, and the decoded form the API-server source serves Secrets in.
import { expect, test } from "bun:test";
import { type Secret, secretValues, withDecodedData } from "../../src/api/secret.ts";

const base64 = (text: string) => Buffer.from(text).toString("base64");

const fromApiServer = (): Secret => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "m1-ignition", namespace: "ns" },
  type: "Opaque",
  data: { ignition: base64('{"ignition":{"version":"3.4.0"}}'), format: base64("fcos"), note: base64("ünïcode") },
});

const valuesOf = (object: Secret) => {
  const values = secretValues(object);
  return Object.fromEntries(["ignition", "format", "note", "absent"].filter((key) => values.has(key)).map((key) => [key, values.get(key)]));
};

test("withDecodedData: the same values, as stringData and without data; stringData still wins over data", () => {
  const object = fromApiServer();
  const decoded = withDecodedData(object);
  expect(decoded.data).toBeUndefined();
  expect(valuesOf(decoded)).toEqual(valuesOf(object));
  expect(valuesOf(decoded)).toEqual({ ignition: '{"ignition":{"version":"3.4.0"}}', format: "fcos", note: "ünïcode" });
  expect(decoded.metadata).toBe(object.metadata);
  expect(decoded.type).toBe("Opaque");

  const both = withDecodedData({ ...object, stringData: { format: "ignition" } });
  expect(secretValues(both).get("format")).toBe("ignition");
  expect(secretValues({ ...object, stringData: { format: "ignition" } }).get("format")).toBe("ignition");
});

test("withDecodedData leaves a Secret without data as it is", () => {
  const object: Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "ns" }, stringData: { ignition: "{}" } };
  expect(withDecodedData(object)).toBe(object);
});
