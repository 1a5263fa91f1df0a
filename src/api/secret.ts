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

/** What serving reads of a Secret's values (a Map satisfies it too, which tests use). */
export interface SecretValues {
  get(key: string): string | undefined;
  has(key: string): boolean;
  values(): Iterable<string>;
}

/**
 * The decoded values on a plain record rather than a Map: a JSC Map keeps a hash table even for one or two
 * entries; at 10 000 Secrets the record saves ~2 MiB of live heap (79.0 -> 76.9 MiB after a full GC).
 */
class RecordValues implements SecretValues {
  constructor(private readonly record: Readonly<Record<string, string>>) {}

  get(key: string): string | undefined {
    return Object.hasOwn(this.record, key) ? this.record[key] : undefined;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.record, key);
  }

  values(): Iterable<string> {
    return Object.values(this.record);
  }
}

/** Decoded key/value view of a Secret: `stringData` wins over `data`, as the API server merges them. */
export function secretValues(object: Secret): SecretValues {
  const data = object.data === undefined ? [] : Object.entries(object.data);
  // Nothing to decode: the stringData record itself (own keys only, so nothing inherited reads as a value).
  if (data.length === 0) return new RecordValues(object.stringData ?? {});
  const values: Record<string, string> = Object.create(null);
  for (const [key, encoded] of data) values[key] = Buffer.from(encoded.replace(/\s+/g, ""), "base64").toString("utf8");
  for (const [key, text] of Object.entries(object.stringData ?? {})) values[key] = text;
  return new RecordValues(values);
}
