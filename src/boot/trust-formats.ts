// Certificates in the formats boot stages take, and the checks a serving pair needs, without any I/O: PEM bundles
// split and parsed (an unparseable entry is named by its position, never skipped), DER, the EFI_SIGNATURE_LIST that
// EDK2/OVMF reads as etc/edk2/https/cacerts (laid out as p11-kit's edk2-cacerts extractor writes it, so the test can
// compare byte for byte), SHA-256 fingerprints, and "does this key belong to this certificate".
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";

export interface ParsedCertificate {
  der: Uint8Array;
  x509: X509Certificate;
  /** Lower-case hex, colon-separated: the form iPXE's hex settings (`trust`) parse and openssl prints. */
  sha256: string;
}

type PemParse = { ok: true; certificates: ParsedCertificate[] } | { ok: false; reason: string };

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Fingerprint of DER bytes as "ab:cd:…". */
function sha256Fingerprint(der: Uint8Array): string {
  const hex = createHash("sha256").update(der).digest("hex");
  return hex.replace(/(..)(?!$)/g, "$1:");
}

/**
 * Every CERTIFICATE block of a PEM text, in order. A block that does not decode, or text that has none, is an
 * error naming the block's position (1-based), so an operator finds the broken entry in a long bundle.
 */
export function parsePemCertificates(text: string): PemParse {
  const certificates: ParsedCertificate[] = [];
  let position = 0;
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (match[1] !== "CERTIFICATE" && match[1] !== "TRUSTED CERTIFICATE") continue;
    position++;
    const body = (match[2] ?? "").replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return { ok: false, reason: `certificate ${position}: not base64` };
    const der = new Uint8Array(Buffer.from(body, "base64"));
    try {
      certificates.push({ der, x509: new X509Certificate(der), sha256: sha256Fingerprint(der) });
    } catch (error) {
      return { ok: false, reason: `certificate ${position}: cannot be parsed (${(error as Error).message})` };
    }
  }
  if (certificates.length === 0) return { ok: false, reason: "no PEM CERTIFICATE block in it" };
  return { ok: true, certificates };
}

export function derToPem(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** EFI_CERT_X509_GUID a5c059a1-94e4-4aa7-87b5-ab155c2bf072, in the mixed-endian byte order of EFI_GUID. */
const EFI_CERT_X509_GUID = guidBytes("a5c059a1-94e4-4aa7-87b5-ab155c2bf072");
/** The SignatureOwner p11-kit writes for every entry (its extract-edk2.c), so our output matches its byte for byte. */
const P11_KIT_OWNER_GUID = guidBytes("dcdd3b50-f405-43fd-96be-bd33b1734776");

/** EFI_GUID layout: the first three fields little-endian, the last eight bytes as written. */
export function guidBytes(guid: string): Uint8Array {
  const hex = guid.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a GUID: ${guid}`);
  const bytes = Buffer.from(hex, "hex");
  const out = new Uint8Array(16);
  out.set([bytes[3] ?? 0, bytes[2] ?? 0, bytes[1] ?? 0, bytes[0] ?? 0, bytes[5] ?? 0, bytes[4] ?? 0, bytes[7] ?? 0, bytes[6] ?? 0], 0);
  out.set(bytes.subarray(8, 16), 8);
  return out;
}

/** EFI_SIGNATURE_LIST header: SignatureType (16), SignatureListSize, SignatureHeaderSize, SignatureSize (u32 LE). */
const LIST_HEADER_BYTES = 16 + 4 + 4 + 4;
const OWNER_BYTES = 16;

/**
 * An EFI_SIGNATURE_LIST per certificate (X.509 entries differ in size, and one list holds entries of one size),
 * each with SignatureHeaderSize 0 and one EFI_SIGNATURE_DATA (owner GUID + DER), concatenated in bundle order.
 */
export function edk2CaCerts(ders: readonly Uint8Array[], owner: Uint8Array = P11_KIT_OWNER_GUID): Uint8Array {
  const total = ders.reduce((sum, der) => sum + LIST_HEADER_BYTES + OWNER_BYTES + der.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const der of ders) {
    const signatureSize = OWNER_BYTES + der.length;
    out.set(EFI_CERT_X509_GUID, offset);
    view.setUint32(offset + 16, LIST_HEADER_BYTES + signatureSize, true);
    view.setUint32(offset + 20, 0, true);
    view.setUint32(offset + 24, signatureSize, true);
    out.set(owner, offset + LIST_HEADER_BYTES);
    out.set(der, offset + LIST_HEADER_BYTES + OWNER_BYTES);
    offset += LIST_HEADER_BYTES + signatureSize;
  }
  return out;
}

export interface ServingPair {
  /** Leaf first, as in the file (or Secret's tls.crt). */
  chain: ParsedCertificate[];
  certPem: string;
  keyPem: string;
  notAfter: Date;
  serial: string;
}

type PairCheck = { ok: true; pair: ServingPair } | { ok: false; file: string; reason: string };

/** A certificate chain and its key, checked as Bun would need them: parseable, and the key is the leaf's. */
export function checkServingPair(certPem: string, keyPem: string, names: { cert: string; key: string }): PairCheck {
  const parsed = parsePemCertificates(certPem);
  if (!parsed.ok) return { ok: false, file: names.cert, reason: parsed.reason };
  const [leaf] = parsed.certificates;
  if (!leaf) return { ok: false, file: names.cert, reason: "no certificate in it" };
  let matches: boolean;
  try {
    matches = leaf.x509.checkPrivateKey(createPrivateKey(keyPem));
  } catch (error) {
    return { ok: false, file: names.key, reason: `not a usable private key (${(error as Error).message})` };
  }
  if (!matches)
    return { ok: false, file: names.key, reason: `the key does not belong to the certificate in ${names.cert} (${leaf.x509.subject.replace(/\n/g, ", ")})` };
  return { ok: true, pair: { chain: parsed.certificates, certPem, keyPem, notAfter: new Date(leaf.x509.validTo), serial: leaf.x509.serialNumber } };
}

/** Warn this long before a serving certificate expires (cert-manager renews at two thirds of its life). */
const EXPIRY_WARNING_MS = 14 * 24 * 3600 * 1000;

export function expiresSoon(notAfter: Date, now: Date): boolean {
  return notAfter.getTime() - now.getTime() <= EXPIRY_WARNING_MS;
}

/** What /certs serves, computed once per change of the trust material. */
export interface TrustBundle {
  /** Every anchor, deduplicated by fingerprint, in order: --ca-file entries, then the serving chain's anchor. */
  anchors: ParsedCertificate[];
  /** The one certificate BMCs enrol (ca.der); undefined when there is none. */
  bootCa: ParsedCertificate | undefined;
}

/**
 * The anchor of a serving chain: the Secret's ca.crt when there is one; else the chain's last certificate when it
 * is self-issued (a root); else the --ca-file certificate that issued it; else the last certificate when it is a CA
 * (an intermediate: clients that accept partial chains); else none (a lone leaf is not an anchor).
 */
export function servingAnchor(
  chain: readonly ParsedCertificate[],
  explicitCa: ParsedCertificate | undefined,
  caFiles: readonly ParsedCertificate[],
): ParsedCertificate | undefined {
  if (explicitCa) return explicitCa;
  const last = chain.at(-1);
  if (!last) return undefined;
  if (last.x509.checkIssued(last.x509)) return last;
  const issuer = caFiles.find((candidate) => last.x509.checkIssued(candidate.x509));
  if (issuer) return issuer;
  return last.x509.ca ? last : undefined;
}

/**
 * ca.pem/edk2-cacerts: --ca-file entries, then the serving chain's anchor, deduplicated by fingerprint. ca.der, the
 * boot CA a BMC enrols: the serving chain's anchor when TLS is on (what a firmware must trust to reach the https
 * listener), else the first --ca-file certificate.
 */
export function buildTrustBundle(caFiles: readonly ParsedCertificate[], anchor: ParsedCertificate | undefined): TrustBundle {
  const seen = new Set<string>();
  const anchors: ParsedCertificate[] = [];
  for (const certificate of [...caFiles, ...(anchor ? [anchor] : [])]) {
    if (seen.has(certificate.sha256)) continue;
    seen.add(certificate.sha256);
    anchors.push(certificate);
  }
  return { anchors, bootCa: anchor ?? caFiles[0] };
}

/** A certificate chain and key as read from wherever they live (files, a Secret), with names for messages. */
interface PairSource {
  certPem: string;
  keyPem: string;
  /** A Secret's ca.crt: the issuing CA, which /certs serves as the boot CA. */
  caPem?: string;
  names: { cert: string; key: string; ca?: string };
}

export type PairRead = { ok: true; source: PairSource } | { ok: false; file: string; reason: string };

/** Where the serving certificate comes from; `read` is called at start and after every `watch` notification. */
export interface CertificateFeed {
  description: string;
  read(): Promise<PairRead>;
  /** Calls `onChange` when the material may have changed; returns the function that stops watching. */
  watch(onChange: () => void): () => void;
}
