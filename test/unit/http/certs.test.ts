// /certs in process: answers follow the trust material (recomputed only when it changes), validators and HEAD, and a
// 404 naming the flags when there is nothing to serve.
import { beforeAll, describe, expect, test } from "bun:test";
import { buildTrustBundle, type ParsedCertificate, parsePemCertificates, type TrustBundle } from "../../../src/boot/trust-formats.ts";
import { mountFamilies } from "../../../src/http/app.ts";
import { certsFamily } from "../../../src/http/certs.ts";
import { makeTestPki } from "../../harness/pki.ts";

let root: ParsedCertificate;
let other: ParsedCertificate;
beforeAll(() => {
  const pki = makeTestPki();
  const parsed = parsePemCertificates(pki.pem("root.crt") + pki.pem("other-root.crt"));
  if (!parsed.ok || !parsed.certificates[0] || !parsed.certificates[1]) throw new Error("test PKI");
  [root, other] = [parsed.certificates[0], parsed.certificates[1]];
});

describe("/certs", () => {
  test("nothing configured: 404 naming the flags", async () => {
    const app = mountFamilies([certsFamily({ trust: () => buildTrustBundle([], undefined) })]);
    const response = await app.request("/certs/ca.pem");
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("--ca-file");
  });

  test("ETag changes with the material; If-None-Match (also weak, or *) gets 304; HEAD has the length, no body", async () => {
    let bundle: TrustBundle = buildTrustBundle([other], root);
    const app = mountFamilies([certsFamily({ trust: () => bundle })]);
    const first = await app.request("/certs/fingerprints");
    expect(await first.text()).toBe(`${other.sha256}\n${root.sha256}\n`);
    const etag = first.headers.get("etag") ?? "";
    for (const header of [etag, `W/${etag}`, "*", `"other", ${etag}`]) {
      expect((await app.request("/certs/fingerprints", { headers: { "If-None-Match": header } })).status).toBe(304);
    }
    expect((await app.request("/certs/fingerprints", { headers: { "If-None-Match": '"stale"' } })).status).toBe(200);
    const head = await app.request("/certs/ca.der", { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe(String(root.der.length));
    expect(head.headers.get("content-type")).toBe("application/pkix-cert");
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    bundle = buildTrustBundle([other], undefined); // a rotation to a chain without a usable anchor
    const after = await app.request("/certs/fingerprints");
    expect(after.headers.get("etag")).not.toBe(etag);
    expect(await after.text()).toBe(`${other.sha256}\n`);
    expect(Buffer.from(await (await app.request("/certs/ca.der")).arrayBuffer()).equals(Buffer.from(other.der))).toBe(true);
  });
});
