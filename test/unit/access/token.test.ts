// Boot tokens: what they sign, what breaks them, and key rotation (two keys at once).
import { describe, expect, test } from "bun:test";
import { encodeToken, parseTokenKeys, peekTokenClaims, type TokenClaims, verifyToken } from "../../../src/boot/access/token.ts";

const KEY_A = Buffer.from("a".repeat(32));
const KEY_B = Buffer.from("b".repeat(32));
const CLAIMS: TokenClaims = {
  uuid: "00000000-0000-4000-8000-000000000001",
  uid: "7c1e-uid",
  generation: "3",
  rearm: "",
  expiresAt: 1_900_000_000,
  nonce: "n0nce",
};

describe("boot tokens", () => {
  test("a token verifies with its key and gives back every claim", () => {
    const token = encodeToken(CLAIMS, KEY_A);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const verified = verifyToken(token, { current: KEY_A });
    expect(verified.ok).toBe(true);
    if (verified.ok) expect(verified.claims).toEqual(CLAIMS);
  });

  test("another key, a changed payload, a changed or truncated signature are refused", () => {
    const token = encodeToken(CLAIMS, KEY_A);
    expect(verifyToken(token, { current: KEY_B }).ok).toBe(false);
    const [payload = "", signature = ""] = token.split(".");
    const forged = Buffer.from(Buffer.from(payload, "base64url").toString("utf8").replace("\n3\n", "\n4\n")).toString("base64url");
    expect(verifyToken(`${forged}.${signature}`, { current: KEY_A }).ok).toBe(false);
    const flipped = `${signature.slice(0, -1)}${signature.endsWith("A") ? "B" : "A"}`;
    expect(verifyToken(`${payload}.${flipped}`, { current: KEY_A }).ok).toBe(false);
    expect(verifyToken(`${payload}.${signature.slice(0, 10)}`, { current: KEY_A }).ok).toBe(false);
    for (const junk of ["", ".", "abc", "a.b.c", `${payload}.`, `.${signature}`, "x".repeat(5000), "ä.ö"]) {
      expect(verifyToken(junk, { current: KEY_A }).ok).toBe(false);
    }
  });

  test("rotation: a token of the previous key still verifies; once the key is dropped it does not", () => {
    const old = encodeToken(CLAIMS, KEY_A);
    expect(verifyToken(old, { current: KEY_B, previous: KEY_A }).ok).toBe(true);
    expect(verifyToken(encodeToken(CLAIMS, KEY_B), { current: KEY_B, previous: KEY_A }).ok).toBe(true);
    expect(verifyToken(old, { current: KEY_B }).ok).toBe(false);
  });

  test("peek reads claims without a key (explain), and nothing from junk", () => {
    expect(peekTokenClaims(encodeToken(CLAIMS, KEY_A))).toEqual(CLAIMS);
    expect(peekTokenClaims("not-a-token")).toBeNull();
  });

  test("key files: one or two keys of at least 32 bytes; comments and blank lines ignored", () => {
    const one = parseTokenKeys(["# boot token key", "a".repeat(32), ""]);
    expect(one.ok && Buffer.from(one.keys.current).toString()).toBe("a".repeat(32));
    expect(one.ok && one.keys.previous).toBeUndefined();
    const two = parseTokenKeys(["b".repeat(40), "a".repeat(32)]);
    expect(two.ok && Buffer.from(two.keys.previous ?? []).toString()).toBe("a".repeat(32));
    expect(parseTokenKeys([])).toMatchObject({ ok: false, reason: expect.stringContaining("no key") });
    expect(parseTokenKeys(["short"])).toMatchObject({ ok: false, reason: expect.stringContaining("at least 32") });
    expect(parseTokenKeys(["a".repeat(32), "b".repeat(32), "c".repeat(32)])).toMatchObject({ ok: false, reason: expect.stringContaining("at most two") });
  });
});
