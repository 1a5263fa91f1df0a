// Safe, cache-friendly file serving for boot artefacts (kernels, initrds, UKIs): conditional requests, single
// ranges and HEAD done by hand because Bun only does ranges. The file is opened once and everything (checks,
// validators, body) comes from that descriptor: checking a path and then opening it again let a symlink swapped in
// between serve a file from outside the directory.
import { close, constants, fstat, open, type Stats } from "node:fs";
import { readlink, realpath, stat } from "node:fs/promises";
import { extname, join, sep } from "node:path";
import { promisify } from "node:util";
import { rangedResponse } from "./ranges.ts";

type ResolvedPath = { ok: true; absolute: string } | { ok: false; status: 400 | 404; reason: string };

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

interface FileValidators {
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

// Plain descriptors rather than FileHandles, whose lifetime Bun's sendfile knows nothing about.
const openFile = promisify(open);
const statOpen = promisify(fstat);
const closeQuietly = (fd: number): void => close(fd, () => {});

/** Where an open descriptor's file really is: the kernel's own path for it, or null where /proc is not there. */
async function pathOfOpenFile(fd: number): Promise<string | null> {
  try {
    return await readlink(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

/**
 * Whether the opened file is inside the root. Linux names the opened file itself (/proc/self/fd), so no later swap
 * matters; elsewhere the real path must still lead to the very file that is open (same device and inode).
 */
async function openedInside(fd: number, info: Stats, root: string, absolute: string): Promise<boolean> {
  const realRoot = await realpath(root);
  const inside = (path: string): boolean => path.startsWith(realRoot + sep);
  const opened = await pathOfOpenFile(fd);
  if (opened !== null) return inside(opened);
  const realFile = await realpath(absolute);
  if (!inside(realFile)) return false;
  const now = await stat(realFile);
  return now.dev === info.dev && now.ino === info.ino;
}

/**
 * How long, and how many, descriptors stay open after their response was handed over. Bun opens a Bun.file body when
 * it starts writing the response (or, in process, when the body is read), which is soon but not within a fixed
 * number of event-loop turns; closing on the next turn lost that race now and then (ENOENT on /proc/self/fd/N). Held
 * for a while, bounded, so a flood of /uki requests cannot exhaust descriptors: past the cap the oldest — long since
 * opened by Bun — is closed first.
 */
const HOLD_MS = 10_000;
const MAX_HELD = 256;
const held: { fd: number; timer: ReturnType<typeof setTimeout> }[] = [];

function holdThenClose(fd: number): void {
  const timer = setTimeout(() => {
    const index = held.findIndex((entry) => entry.fd === fd);
    if (index >= 0) held.splice(index, 1);
    closeQuietly(fd);
  }, HOLD_MS);
  timer.unref?.();
  held.push({ fd, timer });
  while (held.length > MAX_HELD) {
    const oldest = held.shift();
    if (oldest) {
      clearTimeout(oldest.timer);
      closeQuietly(oldest.fd);
    }
  }
}

/**
 * The opened file as a Bun.file, without opening the path again: /proc/self/fd/N opens the very file behind our
 * descriptor (not whatever the name points to now), so Bun still sends it with sendfile and an exact Content-Length
 * (a JS stream would turn into chunked encoding, which boot firmware does not all handle). Our descriptor is held
 * until Bun has opened its own (holdThenClose). Bun.file(fd) itself cannot be used: its slices send the wrong length.
 */
function blobOfOpenFile(fd: number): { blob: Blob; release: () => void } {
  return { blob: Bun.file(`/proc/self/fd/${fd}`), release: () => holdThenClose(fd) };
}

/** Serves `absolute` (from resolveInside) only if the file actually opened is a regular file inside `root`. */
export async function serveFile(request: Request, root: string, absolute: string): Promise<Response> {
  // O_NONBLOCK: a FIFO planted in the directory must not hang the request in open(); it is then refused as not a file.
  const fd = await openFile(absolute, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK).catch(() => null);
  if (fd === null) return NOT_SERVED("no such file");
  let handedToBody = false;
  const linuxProc = (await pathOfOpenFile(fd)) !== null;
  try {
    const info = await statOpen(fd);
    if (!info.isFile()) return NOT_SERVED("not a regular file");
    if (!(await openedInside(fd, info, root, absolute).catch(() => false))) return NOT_SERVED("no such file");
    const validators = validatorsFor(info);
    const headers = new Headers({
      "Content-Type": contentTypeFor(absolute),
      "Accept-Ranges": "bytes",
      ETag: validators.etag,
      "Last-Modified": validators.lastModified,
      "Cache-Control": "no-cache",
    });
    if (notModified(request.headers, validators)) return new Response(null, { status: 304, headers });
    // Off Linux (no /proc) the name is opened again: checked above, but not free of the race. The appliance is Linux.
    if (!linuxProc) return rangedResponse(request, { blob: Bun.file(absolute), size: info.size, validators, noun: "file" }, headers);
    const opened = blobOfOpenFile(fd);
    handedToBody = true;
    opened.release();
    return rangedResponse(request, { blob: opened.blob, size: info.size, validators, noun: "file" }, headers);
  } finally {
    if (!handedToBody) closeQuietly(fd);
  }
}
