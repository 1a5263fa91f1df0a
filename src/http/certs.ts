// /certs: the trust anchors machines need, in the format each boot stage takes (PEM for Linux and Ignition, DER for
// BMCs' Redfish enrolment, EDK2's EFI_SIGNATURE_LIST for OVMF/UEFI HTTPS boot, fingerprints for iPXE's `trust`).
// Public material, so no access policy; answers are computed once per change of the material, with a strong ETag.
import { createHash } from "node:crypto";
import { derToPem, edk2CaCerts, type TrustBundle } from "../boot/trust-formats.ts";
import type { HttpDeps } from "./context.ts";
import { type EndpointFamily, textError } from "./routes.ts";

interface Body {
  bytes: Uint8Array;
  contentType: string;
  etag: string;
}

interface Answers {
  pem: Body | undefined;
  der: Body | undefined;
  edk2: Body | undefined;
  fingerprints: Body | undefined;
}

/** Short enough that a rotated CA reaches machines soon, long enough that a fleet booting at once asks once each. */
const CACHE_CONTROL = "public, max-age=300";

function body(bytes: Uint8Array, contentType: string): Body {
  return { bytes, contentType, etag: `"${createHash("sha256").update(bytes).digest("base64url")}"` };
}

function answersFor(bundle: TrustBundle): Answers {
  if (bundle.anchors.length === 0) return { pem: undefined, der: undefined, edk2: undefined, fingerprints: undefined };
  const encoder = new TextEncoder();
  return {
    pem: body(encoder.encode(bundle.anchors.map((anchor) => derToPem(anchor.der)).join("")), "application/x-pem-file"),
    der: bundle.bootCa ? body(bundle.bootCa.der, "application/pkix-cert") : undefined,
    edk2: body(edk2CaCerts(bundle.anchors.map((anchor) => anchor.der)), "application/octet-stream"),
    fingerprints: body(encoder.encode(bundle.anchors.map((anchor) => `${anchor.sha256}\n`).join("")), "text/plain; charset=utf-8"),
  };
}

/** If-None-Match holds one of our tags (or "*"): the client's copy is current. */
function notModified(request: Request, etag: string): boolean {
  const header = request.headers.get("if-none-match");
  if (header === null) return false;
  return header.split(",").some((tag) => {
    const trimmed = tag.trim();
    return trimmed === "*" || trimmed === etag || trimmed === `W/${etag}`;
  });
}

export function certsFamily(deps: Pick<HttpDeps, "trust">): EndpointFamily {
  let cachedFor: TrustBundle | undefined;
  let cached: Answers = { pem: undefined, der: undefined, edk2: undefined, fingerprints: undefined };
  const current = (): Answers => {
    const bundle = deps.trust?.();
    if (!bundle) return cached;
    if (bundle !== cachedFor) {
      cached = answersFor(bundle);
      cachedFor = bundle;
    }
    return cached;
  };
  const serve =
    (pick: (answers: Answers) => Body | undefined, missing: string) =>
    (request: Request): Response => {
      const answer = pick(current());
      if (!answer) return textError(404, missing);
      const headers = { "Content-Type": answer.contentType, ETag: answer.etag, "Cache-Control": CACHE_CONTROL };
      if (notModified(request, answer.etag)) return new Response(null, { status: 304, headers });
      return new Response(request.method === "HEAD" ? null : answer.bytes, {
        headers: { ...headers, "Content-Length": String(answer.bytes.length) },
      });
    };
  const none = "no CA certificates configured (--ca-file, --tls-cert-file or --tls-secret)";
  return {
    name: "certs",
    routes: [
      { path: "/certs/ca.pem", methods: ["GET", "HEAD"], download: true, handler: serve((answers) => answers.pem, none) },
      { path: "/certs/ca.der", methods: ["GET", "HEAD"], download: true, handler: serve((answers) => answers.der, none) },
      { path: "/certs/edk2-cacerts", methods: ["GET", "HEAD"], download: true, handler: serve((answers) => answers.edk2, none) },
      { path: "/certs/fingerprints", methods: ["GET", "HEAD"], download: true, handler: serve((answers) => answers.fingerprints, none) },
    ],
  };
}
