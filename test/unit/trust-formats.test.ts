// The pure certificate code (PEM parsing with positions, DER, EFI_SIGNATURE_LIST layout, pair checks, anchors) and
// the reload decisions of ServingCertificate, over certificates openssl made for the test.
import { beforeAll, describe, expect, test } from "bun:test";
import {
  buildTrustBundle,
  type CertificateFeed,
  checkServingPair,
  derToPem,
  edk2CaCerts,
  expiresSoon,
  guidBytes,
  type PairRead,
  parsePemCertificates,
  servingAnchor,
} from "../../src/boot/trust-formats.ts";
import { ServingCertificate } from "../../src/cli/serving-certificate.ts";
import { createLogger } from "../../src/observability/log.ts";
import { createBootMetrics } from "../../src/observability/metrics.ts";
import { makeTestPki, type TestPki } from "../harness/pki.ts";
import { eventually } from "../harness/wait.ts";

let pki: TestPki;
let first: ReturnType<TestPki["leaf"]>;
let second: ReturnType<TestPki["leaf"]>;
beforeAll(() => {
  pki = makeTestPki();
  first = pki.leaf("first");
  second = pki.leaf("second");
});

function parsed(text: string) {
  const result = parsePemCertificates(text);
  if (!result.ok) throw new Error(result.reason);
  return result.certificates;
}

describe("PEM bundles", () => {
  test("every certificate, in order, with its SHA-256 fingerprint", () => {
    const certificates = parsed(pki.pem("root.crt") + pki.pem("other-root.crt"));
    expect(certificates.map((certificate) => certificate.x509.subject)).toEqual(["CN=boot-operator test root", "CN=boot-operator unrelated root"]);
    const hex = new Bun.CryptoHasher("sha256").update(certificates[0]?.der ?? new Uint8Array()).digest("hex");
    expect(certificates[0]?.sha256.replace(/:/g, "")).toBe(hex);
    expect(certificates[0]?.sha256).toMatch(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
  });

  test("a broken entry is named by its position; text without certificates is an error", () => {
    const broken = `${pki.pem("root.crt")}-----BEGIN CERTIFICATE-----\nMIIBroken\n-----END CERTIFICATE-----\n`;
    const result = parsePemCertificates(broken);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toStartWith("certificate 2: cannot be parsed");
    expect(parsePemCertificates("just text")).toEqual({ ok: false, reason: "no PEM CERTIFICATE block in it" });
    // A key in the bundle is not a certificate, and does not count as one.
    expect(parsePemCertificates(pki.pem("root.key"))).toEqual({ ok: false, reason: "no PEM CERTIFICATE block in it" });
  });

  test("DER → PEM round-trips", () => {
    const [root] = parsed(pki.pem("root.crt"));
    if (!root) throw new Error("no root");
    expect(parsed(derToPem(root.der))[0]?.sha256).toBe(root.sha256);
  });
});

describe("EFI_SIGNATURE_LIST (edk2-cacerts)", () => {
  test("EFI_GUID byte order: first three fields little-endian", () => {
    expect(Buffer.from(guidBytes("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")).toString("hex")).toBe("a159c0a5e494a74a87b5ab155c2bf072");
    expect(() => guidBytes("nope")).toThrow();
  });

  test("one list per certificate: X509 type, sizes, header size 0, owner, DER", () => {
    const ders = parsed(pki.pem("root.crt") + pki.pem("other-root.crt")).map((certificate) => certificate.der);
    const owner = guidBytes("00000000-0000-0000-0000-000000000001");
    const list = edk2CaCerts(ders, owner);
    expect(list.length).toBe(ders.reduce((sum, der) => sum + 28 + 16 + der.length, 0));
    const view = new DataView(list.buffer);
    let offset = 0;
    for (const der of ders) {
      expect(Buffer.from(list.subarray(offset, offset + 16)).toString("hex")).toBe("a159c0a5e494a74a87b5ab155c2bf072");
      expect(view.getUint32(offset + 16, true)).toBe(28 + 16 + der.length);
      expect(view.getUint32(offset + 20, true)).toBe(0);
      expect(view.getUint32(offset + 24, true)).toBe(16 + der.length);
      expect(Buffer.from(list.subarray(offset + 28, offset + 44)).equals(Buffer.from(owner))).toBe(true);
      expect(Buffer.from(list.subarray(offset + 44, offset + 44 + der.length)).equals(Buffer.from(der))).toBe(true);
      offset += 28 + 16 + der.length;
    }
  });
});

describe("serving pairs and anchors", () => {
  const names = { cert: "--tls-cert-file c.pem", key: "--tls-key-file k.pem" };

  test("a chain with its own key passes; another leaf's key is named as not belonging", () => {
    const ok = checkServingPair(first.chainPem, first.keyPem, names);
    expect(ok.ok).toBe(true);
    if (ok.ok) expect(ok.pair.chain.length).toBe(3);
    const mismatch = checkServingPair(first.chainPem, second.keyPem, names);
    expect(mismatch).toMatchObject({ ok: false, file: names.key });
    if (!mismatch.ok) expect(mismatch.reason).toContain("does not belong to the certificate in --tls-cert-file c.pem");
    expect(checkServingPair(first.chainPem, "garbage", names)).toMatchObject({ ok: false, file: names.key });
    expect(checkServingPair("garbage", first.keyPem, names)).toMatchObject({ ok: false, file: names.cert, reason: "no PEM CERTIFICATE block in it" });
  });

  test("the anchor: ca.crt, else a self-issued last certificate, else its issuer from --ca-file, else a CA, else none", () => {
    const chain = parsed(first.chainPem);
    const [leaf, intermediate, root] = chain;
    if (!leaf || !intermediate || !root) throw new Error("chain");
    const other = parsed(pki.pem("other-root.crt"));
    expect(servingAnchor(chain, undefined, [])?.sha256).toBe(root.sha256);
    expect(servingAnchor(chain, other[0], [])?.sha256).toBe(other[0]?.sha256);
    expect(servingAnchor([leaf, intermediate], undefined, [...other, root])?.sha256).toBe(root.sha256);
    expect(servingAnchor([leaf, intermediate], undefined, [])?.sha256).toBe(intermediate.sha256);
    expect(servingAnchor([leaf], undefined, [])).toBeUndefined();
    const bundle = buildTrustBundle([...other, root], root);
    expect(bundle.anchors.map((anchor): string | undefined => anchor.sha256)).toEqual([other[0]?.sha256, root.sha256]);
    expect(bundle.bootCa?.sha256).toBe(root.sha256);
    expect(buildTrustBundle(other, undefined).bootCa?.sha256).toBe(other[0]?.sha256);
  });

  test("expiry warning window is 14 days", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    expect(expiresSoon(new Date("2026-01-15T00:00:00Z"), now)).toBe(true);
    expect(expiresSoon(new Date("2026-01-15T00:00:01Z"), now)).toBe(false);
  });
});

describe("ServingCertificate reloads", () => {
  function feedOf(initial: PairRead): { feed: CertificateFeed; set(read: PairRead): void } {
    let current = initial;
    let notify = (): void => {};
    return {
      feed: {
        description: "test feed",
        read: async () => current,
        watch(onChange) {
          notify = onChange;
          return () => {};
        },
      },
      set(read) {
        current = read;
        notify();
      },
    };
  }
  const pairRead = (certPem: string, keyPem: string): PairRead => ({ ok: true, source: { certPem, keyPem, names: { cert: "cert", key: "key" } } });

  test("a whole new pair rotates; a broken one is refused once, counted, reported, and the old one stays", async () => {
    const metrics = createBootMetrics();
    const problems: string[] = [];
    const { feed, set } = feedOf(pairRead(first.chainPem, first.keyPem));
    const serving = new ServingCertificate({
      feed,
      caFiles: [],
      log: createLogger("error"),
      metrics,
      settleMs: 0,
      onProblem: (reason, message) => problems.push(`${reason}: ${message}`),
    });
    const initial = await serving.load();
    expect(initial.cert).toBe(first.chainPem);
    const rotations: string[] = [];
    serving.watch((tls) => rotations.push(tls.cert));

    set(pairRead(second.chainPem, first.keyPem));
    await eventually(async () => metrics.certificateReloadFailures.get() === 1, "the mismatch to be counted");
    expect(rotations).toEqual([]);
    expect(problems[0]).toStartWith("CertificateReloadFailed: key: the key does not belong");
    set(pairRead(second.chainPem, first.keyPem)); // the same broken state again: not a second failure
    await Bun.sleep(20);
    await serving.settled();
    expect(metrics.certificateReloadFailures.get()).toBe(1);

    set(pairRead(second.chainPem, second.keyPem));
    await eventually(async () => rotations.length === 1, "the good pair to rotate in");
    expect(rotations[0]).toBe(second.chainPem);
    expect(serving.trust().bootCa?.x509.subject).toBe("CN=boot-operator test root");

    set({ ok: false, file: "--tls-cert-file x", reason: "does not exist" });
    await eventually(async () => metrics.certificateReloadFailures.get() === 2, "the missing file to be counted");
    expect(rotations.length).toBe(1);
    serving.stop();
  });

  test("a certificate inside 14 days of expiry warns at load", async () => {
    const shortLived = pki.leaf("short", { days: 3 });
    const problems: string[] = [];
    const { feed } = feedOf(pairRead(shortLived.chainPem, shortLived.keyPem));
    const metrics = createBootMetrics();
    const serving = new ServingCertificate({ feed, caFiles: [], log: createLogger("error"), metrics, onProblem: (reason) => problems.push(reason) });
    await serving.load();
    expect(problems).toEqual(["CertificateExpiringSoon"]);
    const lines: string[] = [];
    metrics.certificateExpiry.render(lines);
    expect(lines.join("\n")).toMatch(/boot_operator_certificate_expiry_timestamp_seconds\{certificate="serving"\} \d+/);
  });
});
