import { describe, expect, test } from "bun:test";
import {
  basicAuthorization,
  CredentialsError,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  parseDockerConfigJson,
  parseTokenResponse,
  parseWwwAuthenticate,
  registryFromConfigKey,
} from "../../../src/oci/auth.ts";

describe("parseWwwAuthenticate", () => {
  test("a registry's bearer challenge", () => {
    expect(parseWwwAuthenticate('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:gardenlinux/gardenlinux:pull"')).toEqual([
      { scheme: "bearer", params: { realm: "https://ghcr.io/token", service: "ghcr.io", scope: "repository:gardenlinux/gardenlinux:pull" } },
    ]);
  });

  test("commas inside quoted values, escapes, spacing and case", () => {
    expect(parseWwwAuthenticate('bearer  Realm = "https://a/token" , scope="repository:x:pull,push", error="insufficient_scope", note="say \\"hi\\""')).toEqual(
      [{ scheme: "bearer", params: { realm: "https://a/token", scope: "repository:x:pull,push", error: "insufficient_scope", note: 'say "hi"' } }],
    );
  });

  test("several challenges in one header", () => {
    expect(parseWwwAuthenticate('Basic realm="Registry Realm", Bearer realm="https://auth/token",service=reg, Negotiate')).toEqual([
      { scheme: "basic", params: { realm: "Registry Realm" } },
      { scheme: "bearer", params: { realm: "https://auth/token", service: "reg" } },
      { scheme: "negotiate", params: {} },
    ]);
  });

  test("token68 form", () => {
    expect(parseWwwAuthenticate("Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag==, Basic realm=x")).toEqual([
      { scheme: "negotiate", params: {}, token68: "YIIBhgYGKwYBBQUCoIIBejCCAXag==" },
      { scheme: "basic", params: { realm: "x" } },
    ]);
  });

  test("junk does not loop or throw", () => {
    expect(parseWwwAuthenticate("")).toEqual([]);
    expect(parseWwwAuthenticate(",,, ")).toEqual([]);
    expect(parseWwwAuthenticate('Bearer realm="unterminated')).toEqual([{ scheme: "bearer", params: { realm: "unterminated" } }]);
    expect(parseWwwAuthenticate("=== Bearer realm=x").find((c) => c.scheme === "bearer")?.params.realm).toBe("x");
  });
});

describe("parseDockerConfigJson", () => {
  const auth = Buffer.from("robot$boot:s3cr:et").toString("base64");

  test("auths with base64 auth, username/password, Docker Hub's legacy key", () => {
    const credentials = parseDockerConfigJson(
      JSON.stringify({
        auths: {
          "ghcr.io": { auth },
          "https://index.docker.io/v1/": { username: "hubuser", password: "hubpass" },
          "http://127.0.0.1:5000/some/path": { auth: Buffer.from("a:b").toString("base64") },
          "no-secret.io": { email: "x@y" },
        },
      }),
    );
    expect(credentials.get("ghcr.io")).toEqual({ username: "robot$boot", password: "s3cr:et" });
    expect(credentials.get("docker.io")).toEqual({ username: "hubuser", password: "hubpass" });
    expect(credentials.get("127.0.0.1:5000")).toEqual({ username: "a", password: "b" });
    expect(credentials.has("no-secret.io")).toBe(false);
  });

  test("accepts bytes, parsed JSON and the legacy .dockercfg layout", () => {
    const json = { auths: { "quay.io": { auth } } };
    expect(parseDockerConfigJson(new TextEncoder().encode(JSON.stringify(json))).get("quay.io")?.username).toBe("robot$boot");
    expect(parseDockerConfigJson(json).get("quay.io")?.username).toBe("robot$boot");
    expect(parseDockerConfigJson({ "quay.io": { auth } }).get("quay.io")?.password).toBe("s3cr:et");
  });

  test.each([
    ["not json", "not JSON"],
    [JSON.stringify(["array"]), "neither"],
    [JSON.stringify({ auths: { "ghcr.io": { auth: Buffer.from("nocolon").toString("base64") } } }), "user:password"],
  ])("rejects %p", (input, why) => {
    expect(() => parseDockerConfigJson(input)).toThrow(CredentialsError);
    expect(() => parseDockerConfigJson(input)).toThrow(why);
  });

  test("config keys to registries", () => {
    expect(registryFromConfigKey("https://index.docker.io/v1/")).toBe("docker.io");
    expect(registryFromConfigKey("GHCR.IO")).toBe("ghcr.io");
    expect(registryFromConfigKey("registry.example.com:8443/v2/")).toBe("registry.example.com:8443");
  });

  test("basic authorization header", () => {
    expect(basicAuthorization({ username: "u", password: "p:w" })).toBe(`Basic ${Buffer.from("u:p:w").toString("base64")}`);
  });
});

describe("parseTokenResponse", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");

  test("token and expires_in, used until shortly before expiry", () => {
    const token = parseTokenResponse({ token: "abc", expires_in: 300 }, now);
    expect(token.token).toBe("abc");
    expect(token.expiresAt).toBe(now + 300_000 - 10_000);
  });

  test("access_token alone; default lifetime when expires_in is missing or silly", () => {
    expect(parseTokenResponse({ access_token: "x" }, now).expiresAt).toBe(now + DEFAULT_TOKEN_LIFETIME_SECONDS * 1000 - 6000);
    expect(parseTokenResponse({ token: "x", expires_in: 0 }, now).expiresAt).toBe(now + DEFAULT_TOKEN_LIFETIME_SECONDS * 1000 - 6000);
  });

  test("issued_at counts when plausible, is ignored when the clocks disagree", () => {
    const issued = new Date(now - 20_000).toISOString();
    expect(parseTokenResponse({ token: "x", expires_in: 100, issued_at: issued }, now).expiresAt).toBe(now - 20_000 + 100_000 - 10_000);
    const farPast = new Date(now - 3_600_000).toISOString();
    expect(parseTokenResponse({ token: "x", expires_in: 100, issued_at: farPast }, now).expiresAt).toBe(now + 100_000 - 10_000);
  });

  test("short lifetimes keep a proportional margin", () => {
    expect(parseTokenResponse({ token: "x", expires_in: 2 }, now).expiresAt).toBe(now + 2000 - 200);
  });

  test.each([[null], ["text"], [{}], [{ token: "" }], [{ token: 5 }]])("rejects %p", (json) => {
    expect(() => parseTokenResponse(json, now)).toThrow();
  });
});
