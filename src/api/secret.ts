import * as v from "valibot";
import { objectMeta } from "./meta.ts";

export const SECRET_KIND = "Secret";
export const SECRET_KEY_IGNITION = "ignition";
export const SECRET_KEY_FORMAT = "format";
export const SECRET_KEY_IPXE_SCRIPT = "ipxe-script";

const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

export const secret = v.looseObject({
  apiVersion: v.literal("v1"),
  kind: v.literal(SECRET_KIND),
  metadata: objectMeta,
  type: v.optional(v.string()),
  data: v.optional(
    v.record(
      v.string(),
      v.pipe(
        v.string(),
        v.check((value) => BASE64_PATTERN.test(value.replace(/\s+/g, "")) && value.replace(/\s+/g, "").length % 4 === 0, "must be base64"),
      ),
    ),
  ),
  stringData: v.optional(v.record(v.string(), v.string())),
});
export type Secret = v.InferOutput<typeof secret>;

/** Decoded key/value view of a Secret: `stringData` wins over `data`, as the API server merges them. */
export function secretValues(object: Secret): Map<string, string> {
  const values = new Map<string, string>();
  for (const [key, encoded] of Object.entries(object.data ?? {})) {
    values.set(key, Buffer.from(encoded.replace(/\s+/g, ""), "base64").toString("utf8"));
  }
  for (const [key, text] of Object.entries(object.stringData ?? {})) values.set(key, text);
  return values;
}
