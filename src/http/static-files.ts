// Safe, cache-friendly file serving for boot artefacts (kernels, initrds, UKIs): conditional requests, single
// ranges and HEAD done by hand because Bun only does ranges. The file is opened once and everything (checks,
// validators, body) comes from that descriptor: checking a path and then opening it again let a symlink swapped in
// between serve a file from outside the directory.
import { constants, type Stats } from "node:fs";
import { type FileHandle, open, readlink, realpath, stat } from "node:fs/promises";
import { extname, join, sep } from "node:path";
import { rangedResponse } from "./ranges.ts";

export type ResolvedPath = { ok: true; absolute: string } | { ok: false; status: 400 | 404; reason: string };

/**
 * Maps the URL path below the mount point to a file inside `root`. Decodes each segment once; rejects NUL bytes
 * and encoded separators (400), dot segments, dot-files and anything whose real path (after symlinks) leaves the
 * root (404). Only a first check with a clear reason: serveFile checks again on the opened file, which is what counts.
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
    // Dot segments, and dot-files (.git, .htpasswd, editor swap files) which are never boot artefacts.
    if (segment.startsWith(".")) return { ok: false, status: 404, reason: "dot segments and dot-files are not served" };
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

const NOT_SERVED = (reason: string): Response => new Response(`${reason}\n`, { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" } });

/** Where an open descriptor's file really is: the kernel's own path for it, or null where /proc is not there. */
async function pathOfOpenFile(handle: FileHandle): Promise<string | null> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return null;
  }
}

/**
 * Whether the opened file is inside the root. Linux names the opened file itself (/proc/self/fd), so no later swap
 * matters; elsewhere the real path must still lead to the very file that is open (same device and inode).
 */
async function openedInside(handle: FileHandle, info: Stats, root: string, absolute: string): Promise<boolean> {
  const realRoot = await realpath(root);
  const inside = (path: string): boolean => path.startsWith(realRoot + sep);
  const opened = await pathOfOpenFile(handle);
  if (opened !== null) return inside(opened);
  const realFile = await realpath(absolute);
  if (!inside(realFile)) return false;
  const now = await stat(realFile);
  return now.dev === info.dev && now.ino === info.ino;
}

const CHUNK_BYTES = 256 * 1024;

/** Bytes [start, endExclusive) of the open file as a stream that closes the file when done or cancelled. */
function streamFrom(handle: FileHandle, start: number, endExclusive: number, onOpen: () => void): ReadableStream<Uint8Array> {
  onOpen();
  let position = start;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => {});
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const want = Math.min(CHUNK_BYTES, endExclusive - position);
      if (want <= 0) {
        await close();
        controller.close();
        return;
      }
      const chunk = new Uint8Array(want);
      const { bytesRead } = await handle.read(chunk, 0, want, position);
      if (bytesRead === 0) {
        // Truncated while being sent: end early; the client sees a short body against its Content-Length.
        await close();
        controller.error(new Error("file shrank while being sent"));
        return;
      }
      position += bytesRead;
      controller.enqueue(bytesRead === want ? chunk : chunk.subarray(0, bytesRead));
    },
    cancel: close,
  });
}

/** Serves `absolute` (from resolveInside) only if the file actually opened is a regular file inside `root`. */
export async function serveFile(request: Request, root: string, absolute: string): Promise<Response> {
  // O_NONBLOCK: a FIFO planted in the directory must not hang the request in open(); it is then refused as not a file.
  const handle = await open(absolute, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK).catch(() => null);
  if (!handle) return NOT_SERVED("no such file");
  let streaming = false;
  try {
    const info = await handle.stat();
    if (!info.isFile()) return NOT_SERVED("not a regular file");
    if (!(await openedInside(handle, info, root, absolute).catch(() => false))) return NOT_SERVED("no such file");
    const validators = validatorsFor(info);
    const headers = new Headers({
      "Content-Type": contentTypeFor(absolute),
      "Accept-Ranges": "bytes",
      ETag: validators.etag,
      "Last-Modified": validators.lastModified,
      "Cache-Control": "no-cache",
    });
    if (notModified(request.headers, validators)) return new Response(null, { status: 304, headers });
    const body = { slice: (start: number, end: number) => streamFrom(handle, start, end, () => (streaming = true)) };
    return rangedResponse(request, { blob: body, size: info.size, validators, noun: "file" }, headers);
  } finally {
    // Without a body (HEAD, 304, 416, refusal) nothing else will close the file.
    if (!streaming) await handle.close().catch(() => {});
  }
}
