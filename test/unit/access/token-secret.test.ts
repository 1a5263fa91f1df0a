// --token-secret keys come from the watched Secrets in the index: loaded, changed, missing or unusable.
import { expect, test } from "bun:test";
import { TokenSecretKeys } from "../../../src/controllers/token-secret.ts";
import { BootIndex } from "../../../src/index/boot-index.ts";
import { secret } from "../fixtures.ts";

const indexWith = (data: Record<string, string> | null) =>
  new BootIndex({ ipxeBootConfigs: [], httpBootConfigs: [], secrets: data ? [secret("token-keys", data, "boot")] : [] });

test("loaded once, unchanged on the next snapshot, changed on rotation; missing and short keys are told apart", () => {
  const keys = new TokenSecretKeys("boot/token-keys");
  expect(keys.read(indexWith(null))).toEqual({ state: "missing" });
  const first = keys.read(indexWith({ current: "a".repeat(32) }));
  expect(first).toMatchObject({ state: "loaded", changed: true });
  expect(keys.read(indexWith({ current: "a".repeat(32) }))).toMatchObject({ state: "loaded", changed: false });
  const rotated = keys.read(indexWith({ current: "b".repeat(32), previous: "a".repeat(32) }));
  expect(rotated.state === "loaded" && rotated.changed && Buffer.from(rotated.keys.previous ?? []).toString()).toBe("a".repeat(32));
  expect(keys.read(indexWith({ previous: "a".repeat(32) }))).toMatchObject({ state: "invalid", reason: expect.stringContaining('no data key "current"') });
  expect(keys.read(indexWith({ current: "short" }))).toMatchObject({ state: "invalid", reason: expect.stringContaining("at least 32") });
});
