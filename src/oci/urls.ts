// The image proxy's URL forms, built here and parsed back by the proxy routes:
//   <publicUrl>/image?imageName=<registry/repository>&version=<tag|digest>&layerDigest=<digest>   (iPXE files)
//   <publicUrl>/httpboot/<registry/repository>/sha256-<hex>.efi                                    (UKIs)
import type { BootImage } from "./client.ts";
import { OciError } from "./errors.ts";
import { canonicalRegistry, digestHex, formatRepositoryName, isDigest, isTag, parseRepositoryName, type RepositoryName } from "./reference.ts";

/** Query values keep "/", ":" and "@" readable; everything else that needs it is percent-encoded. */
function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/%2F/gi, "/").replace(/%3A/gi, ":").replace(/%40/gi, "@");
}

function trimBase(publicUrl: string): string {
  return publicUrl.replace(/\/+$/, "");
}

export function imageLayerUrl(publicUrl: string, imageName: string, version: string, layerDigest: string): string {
  const query = [`imageName=${encodeQueryValue(imageName)}`, `version=${encodeQueryValue(version)}`, `layerDigest=${encodeQueryValue(layerDigest)}`];
  return `${trimBase(publicUrl)}/image?${query.join("&")}`;
}

export function httpBootUkiUrl(publicUrl: string, imageName: string, digest: string): string {
  if (!isDigest(digest)) throw new OciError("INVALID_REFERENCE", `invalid UKI digest ${JSON.stringify(digest)}`);
  // ":" is a legal path character (RFC 3986 pchar): keep registry ports readable.
  const path = imageName
    .split("/")
    .map((segment) => encodeURIComponent(segment).replace(/%3A/gi, ":"))
    .join("/");
  const algorithm = digest.slice(0, digest.indexOf(":"));
  return `${trimBase(publicUrl)}/httpboot/${path}/${algorithm}-${digestHex(digest)}.efi`;
}

interface BootImageUrls {
  uki?: string;
  kernel?: string;
  initrd?: string;
  squashfs?: string;
}

/** Proxy URLs for every boot layer a resolved image has: the UKI as /httpboot/…efi, the rest as /image?…. */
export function bootImageUrls(publicUrl: string, image: BootImage): BootImageUrls {
  const urls: BootImageUrls = {};
  if (image.uki) urls.uki = httpBootUkiUrl(publicUrl, image.imageName, image.uki.digest);
  for (const kind of ["kernel", "initrd", "squashfs"] as const) {
    const layer = image[kind];
    if (layer) urls[kind] = imageLayerUrl(publicUrl, image.imageName, image.version, layer.digest);
  }
  return urls;
}

export interface BlobLocation extends RepositoryName {
  digest: string;
}

type ParsedProxyRequest = { ok: true; blob: BlobLocation; version?: string } | { ok: false; reason: string };

/** Parses /image's query; every failure is a one-line reason for a 400. */
export function parseImageQuery(query: { imageName?: string | undefined; version?: string | undefined; layerDigest?: string | undefined }): ParsedProxyRequest {
  const { imageName, version, layerDigest } = query;
  for (const [key, value] of [
    ["imageName", imageName],
    ["version", version],
    ["layerDigest", layerDigest],
  ] as const) {
    if (value === undefined || value.trim() === "") return { ok: false, reason: `missing query parameter ${key}` };
  }
  if (!imageName || !version || !layerDigest) return { ok: false, reason: "missing query parameters" };
  if (imageName.includes("@") || /:[^/]*$/.test(imageName.replace(/^[^/]*\//, ""))) {
    return { ok: false, reason: `imageName ${JSON.stringify(imageName)} must not carry a tag or digest (use version)` };
  }
  if (!isTag(version) && !isDigest(version)) return { ok: false, reason: `version ${JSON.stringify(version)} is neither a tag nor a digest` };
  if (!isDigest(layerDigest)) return { ok: false, reason: `layerDigest ${JSON.stringify(layerDigest)} is not sha256:<64 hex>` };
  try {
    const name = parseRepositoryName(imageName);
    return { ok: true, blob: { ...name, digest: layerDigest }, version };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

const EFI_FILE = /^(sha256)-([a-f0-9]{64})\.efi$|^(sha512)-([a-f0-9]{128})\.efi$/;

/** Parses the part of an /httpboot/ path after the mount point (still percent-encoded). */
export function parseHttpBootPath(rawSubPath: string): ParsedProxyRequest {
  const segments = rawSubPath.split("/");
  const file = segments.pop() ?? "";
  if (segments.length === 0 || segments.some((segment) => segment === "")) {
    return { ok: false, reason: "expected /httpboot/<registry>/<repository>/sha256-<hex>.efi" };
  }
  const match = EFI_FILE.exec(file);
  if (!match) return { ok: false, reason: `file name ${JSON.stringify(file)} is not sha256-<64 hex>.efi` };
  const algorithm = match[1] ?? match[3];
  const hex = match[2] ?? match[4];
  let decoded: string[];
  try {
    decoded = segments.map((segment) => decodeURIComponent(segment));
  } catch {
    return { ok: false, reason: "malformed percent-encoding in path" };
  }
  if (decoded.some((segment) => segment.includes("/"))) return { ok: false, reason: "encoded path separator in repository" };
  try {
    const name = parseRepositoryName(decoded.join("/"));
    return { ok: true, blob: { ...name, digest: `${algorithm}:${hex}` } };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

export function describeBlob(blob: BlobLocation): string {
  return `${formatRepositoryName(blob)}@${blob.digest}`;
}

/** One key per blob, whichever alias of the registry names it: what the referenced-blob set holds. */
export function blobKey(blob: BlobLocation): string {
  return `${canonicalRegistry(blob.registry)}/${blob.repository}@${blob.digest}`;
}

/**
 * The blob a boot URL names when it is one of the proxy's URL forms (absolute, on any host, or a path), else
 * undefined. Used to learn which blobs configs reference: only those the proxy hands out.
 */
export function proxiedBlobOfUrl(url: string): BlobLocation | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url, "http://appliance.invalid");
  } catch {
    return undefined;
  }
  if (parsed.pathname === "/image") {
    const get = (name: string): string | undefined => parsed.searchParams.get(name) ?? undefined;
    const result = parseImageQuery({ imageName: get("imageName"), version: get("version"), layerDigest: get("layerDigest") });
    return result.ok ? result.blob : undefined;
  }
  if (parsed.pathname.startsWith("/httpboot/")) {
    const result = parseHttpBootPath(parsed.pathname.slice("/httpboot/".length));
    return result.ok ? result.blob : undefined;
  }
  return undefined;
}
