// Safe, cache-friendly file serving for boot artefacts (kernels, initrds, UKIs): conditional requests, single
// ranges and HEAD done by hand because Bun only does ranges; the body is a Bun.file slice, sent with sendfile.
import { realpath, stat } from "node:fs/promises";
import { extname, join, sep } from "node:path";
import { rangedResponse } from "./ranges.ts";

export type ResolvedPath = { ok: true; absolute: string } | { ok: false; status: 400 | 404; reason: string };

/**
 * Maps the URL path below the mount point to a file inside `root`. Decodes each segment once; rejects NUL bytes
 * and encoded separators (400), dot segments and anything whose real path (after symlinks) leaves the root (404).
 */
export async function resolveInside(root: string, rawSubPath: string): Promise<ResolvedPath> {
  const segments: string[] = [];
  for (const raw of rawSubPath.split("/")) {
    if (raw === "") continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { ok: false, status: 400, reason: `malformed percent-encoding in ${JSON.stringify(raw)}` };
    }
    if (segment.includes("\0")) return { ok: false, status: 400, reason: "NUL byte in path" };
    if (segment.includes("/") || segment.includes("\\")) return { ok: false, status: 400, reason: "encoded path separator in path" };
    if (segment === "." || segment === "..") return { ok: false, status: 404, reason: "dot segments are not served" };
    segments.push(segment);
  }
  if (segments.length === 0) return { ok: false, status: 404, reason: "no file named" };
  let realRoot: string;
  let realFile: string;
  try {
    realRoot = await realpath(root);
    realFile = await realpath(join(root, ...segments));
  } catch {
    return { ok: false, status: 404, reason: `no such file: ${segments.join("/")}` };
  }
  if (!realFile.startsWith(realRoot + sep)) return { ok: false, status: 404, reason: `no such file: ${segments.join("/")}` };
  return { ok: true, absolute: realFile };
}

const CONTENT_TYPES: Record<string, string> = {
  ".efi": "application/efi",
  ".json": "application/json",
  ".ipxe": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".iso": "application/x-iso9660-image",
};

export function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
}

export interface FileValidators {
  etag: string;
  lastModified: string;
  mtimeSeconds: number;
}

/** Strong validator from size + mtime (+ inode), like nginx: cheap, and it changes whenever the file is replaced. */
export function validatorsFor(info: { size: number; mtimeMs: number; ino: number }): FileValidators {
  const mtimeSeconds = Math.floor(info.mtimeMs / 1000);
  return {
    etag: `"${Math.floor(info.mtimeMs).toString(16)}-${info.size.toString(16)}-${info.ino.toString(16)}"`,
    lastModified: new Date(mtimeSeconds * 1000).toUTCString(),
    mtimeSeconds,
  };
}

/** If-None-Match semantics (weak comparison, "*"); shared with the image proxy, whose ETag is the blob digest. */
export function etagListMatches(header: string, etag: string): boolean {
  return header.split(",").some((candidate) => {
    const tag = candidate.trim();
    return tag === "*" || tag === etag || tag === `W/${etag}`;
  });
}

/** 304 per RFC 9110 §13.2.2: If-None-Match decides when present, otherwise If-Modified-Since. */
export function notModified(headers: Headers, validators: FileValidators): boolean {
  const ifNoneMatch = headers.get("if-none-match");
  if (ifNoneMatch !== null) return etagListMatches(ifNoneMatch, validators.etag);
  const ifModifiedSince = headers.get("if-modified-since");
  if (ifModifiedSince === null) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && validators.mtimeSeconds * 1000 <= since;
}

export async function serveFile(request: Request, absolute: string): Promise<Response> {
  const info = await stat(absolute).catch(() => null);
  if (!info?.isFile()) return new Response("not a regular file\n", { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  const validators = validatorsFor(info);
  const headers = new Headers({
    "Content-Type": contentTypeFor(absolute),
    "Accept-Ranges": "bytes",
    ETag: validators.etag,
    "Last-Modified": validators.lastModified,
    "Cache-Control": "no-cache",
  });
  if (notModified(request.headers, validators)) return new Response(null, { status: 304, headers });
  return rangedResponse(request, { blob: Bun.file(absolute), size: info.size, validators, noun: "file" }, headers);
}
