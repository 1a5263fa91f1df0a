// Safe, cache-friendly file serving for boot artefacts (kernels, initrds, UKIs): conditional requests, single
// ranges and HEAD done by hand because Bun only does ranges. The file is opened once and everything (checks,
// validators, body) comes from that descriptor: checking a path and then opening it again let a symlink swapped in
// between serve a file from outside the directory.
import { close, constants, fstat, open, readlinkSync, realpathSync, type Stats, statSync } from "node:fs";
import { readlink, realpath, stat } from "node:fs/promises";
import { extname, join, sep } from "node:path";
import { promisify } from "node:util";
import { rangedResponse } from "./ranges.ts";

type ResolvedPath = { ok: true; absolute: string } | { ok: false; status: 400 | 404; reason: string };
type ParsedSubPath = { ok: true; segments: string[] } | { ok: false; status: 400 | 404; reason: string };

/**
 * The URL path below the mount point as path segments, each decoded once. Rejects NUL bytes and encoded separators
 * (400), dot segments and dot-files (404). Pure: where the segments lead is resolveInside's (and serveFile's) part.
 */
export function parseSubPath(rawSubPath: string): ParsedSubPath {
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
  return { ok: true, segments };
}

/**
 * Maps the URL path below the mount point to a file inside `root`: parseSubPath, then 404 for anything whose real
 * path (after symlinks) leaves the root. Only a first check with a clear reason: serveFile checks again on the
 * opened file, which is what counts.
 */
export async function resolveInside(root: string, rawSubPath: string): Promise<ResolvedPath> {
  const parsed = parseSubPath(rawSubPath);
  return parsed.ok ? realPathInside(root, parsed.segments) : parsed;
}

export async function realPathInside(root: string, segments: readonly string[]): Promise<ResolvedPath> {
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

/** What an answer needs of a checked file: its size, validators and type. */
interface FileFacts {
  size: number;
  validators: FileValidators;
  contentType: string;
}

/** 304, or the whole file / one range / 416 (rangedResponse), with the file's validators. */
function answerFor(request: Request, body: Blob, file: FileFacts): Response {
  const headers = new Headers({
    "Content-Type": file.contentType,
    "Accept-Ranges": "bytes",
    ETag: file.validators.etag,
    "Last-Modified": file.validators.lastModified,
    "Cache-Control": "no-cache",
  });
  if (notModified(request.headers, file.validators)) return new Response(null, { status: 304, headers });
  return rangedResponse(request, { blob: body, size: file.size, validators: file.validators, noun: "file" }, headers);
}

/** Where serveFile may keep the descriptor it opened and checked, for OpenFileCache.answer to reuse. */
interface KeepOpened {
  cache: OpenFileCache;
  segments: readonly string[];
}

/**
 * Serves `absolute` (from resolveInside) only if the file actually opened is a regular file inside `root`. With
 * `keep`, the checked descriptor goes to the cache instead of being closed (Linux only: it needs /proc/self/fd).
 */
export async function serveFile(request: Request, root: string, absolute: string, keep?: KeepOpened): Promise<Response> {
  // O_NONBLOCK: a FIFO planted in the directory must not hang the request in open(); it is then refused as not a file.
  const fd = await openFile(absolute, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK).catch(() => null);
  if (fd === null) return NOT_SERVED("no such file");
  let handedToBody = false;
  const linuxProc = (await pathOfOpenFile(fd)) !== null;
  try {
    const info = await statOpen(fd);
    if (!info.isFile()) return NOT_SERVED("not a regular file");
    if (!(await openedInside(fd, info, root, absolute).catch(() => false))) return NOT_SERVED("no such file");
    const file: FileFacts = { size: info.size, validators: validatorsFor(info), contentType: contentTypeFor(absolute) };
    // Off Linux (no /proc) the name is opened again: checked above, but not free of the race. The appliance is Linux.
    if (!linuxProc) return answerFor(request, Bun.file(absolute), file);
    handedToBody = true;
    if (keep) {
      const kept = keep.cache.keep(root, keep.segments, {
        ...file,
        fd,
        dev: info.dev,
        ino: info.ino,
        mtimeMs: info.mtimeMs,
        ctimeMs: info.ctimeMs,
        lastUsedMs: Date.now(),
      });
      return answerFor(request, blobOfFd(kept), file);
    }
    const opened = blobOfOpenFile(fd);
    opened.release();
    return answerFor(request, opened.blob, file);
  } finally {
    if (!handedToBody) closeQuietly(fd);
  }
}

/** A checked file whose descriptor stays open, with what identified it when it was checked. */
interface KeptFile extends FileFacts {
  fd: number;
  dev: number;
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
  lastUsedMs: number;
}

const blobOfFd = (fd: number): Blob => Bun.file(`/proc/self/fd/${fd}`);

/**
 * Descriptors of files serveFile opened and checked, kept so that a repeat request (a boot storm asks for the same
 * few UKIs, a ranged client asks hundreds of times per file) is answered without opening, realpath-ing and checking
 * again on the thread pool — each of those a round trip that delayed every 4 MiB range. Before reuse, a few
 * synchronous syscalls (no thread pool; Bun opens the body synchronously anyway) re-establish what serveFile
 * established: the name still leads to the very inode kept open (stat: device and inode), that inode is unchanged
 * (size, mtime, and ctime, which link, unlink and rename move), and the kernel's path for the descriptor is still
 * inside the root as it resolves now (a renamed parent directory shows there). Anything else drops the entry and
 * the caller takes serveFile's full path, whose answer (404 or the new file) is then what counts.
 */
export class OpenFileCache {
  readonly #files = new Map<string, KeptFile>();
  readonly #maxFiles: number;
  readonly #idleMs: number;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(limits: { maxFiles?: number; idleMs?: number } = {}) {
    this.#maxFiles = limits.maxFiles ?? 64;
    this.#idleMs = limits.idleMs ?? 60_000;
  }

  /** How many descriptors are kept (for tests). */
  get size(): number {
    return this.#files.size;
  }

  /** The answer from a kept descriptor while `segments` below `root` still name that file unchanged; else null. */
  answer(request: Request, root: string, segments: readonly string[]): Response | null {
    const key = keyOf(root, segments);
    const file = this.#files.get(key);
    if (file === undefined) return null;
    if (!stillTheCheckedFile(file, root, join(root, ...segments))) {
      this.#drop(key, file);
      return null;
    }
    file.lastUsedMs = Date.now();
    return answerFor(request, blobOfFd(file.fd), file);
  }

  /**
   * Keeps `file`'s descriptor for `segments`, and returns the descriptor to answer from: the one already kept when it
   * is the same unchanged file (a cold boot storm opens it many times at once; the extra descriptors are closed
   * at once, no response refers to them), else `file`'s.
   */
  keep(root: string, segments: readonly string[], file: KeptFile): number {
    const key = keyOf(root, segments);
    const previous = this.#files.get(key);
    if (previous && sameVersion(previous, file)) {
      closeQuietly(file.fd);
      previous.lastUsedMs = file.lastUsedMs;
      return previous.fd;
    }
    if (previous) this.#drop(key, previous);
    this.#files.set(key, file);
    while (this.#files.size > this.#maxFiles) {
      const [oldestKey, oldest] = this.#files.entries().next().value ?? [];
      if (oldestKey === undefined || oldest === undefined) break;
      this.#drop(oldestKey, oldest);
    }
    if (this.#sweeper === undefined) {
      // Closes descriptors nobody asked for in a while: a deleted UKI's blocks are freed, a quiet appliance holds none.
      this.#sweeper = setInterval(() => this.#sweep(), Math.max(1_000, this.#idleMs / 2));
      this.#sweeper.unref?.();
    }
    return file.fd;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, file] of this.#files) if (now - file.lastUsedMs >= this.#idleMs) this.#drop(key, file);
    if (this.#files.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  #drop(key: string, file: KeptFile): void {
    if (this.#files.get(key) === file) this.#files.delete(key);
    // Responses already handed over may not have opened /proc/self/fd/N yet.
    holdThenClose(file.fd);
  }
}

const keyOf = (root: string, segments: readonly string[]): string => `${root}\0${segments.join("/")}`;

type FileVersion = Pick<KeptFile, "dev" | "ino" | "size" | "mtimeMs" | "ctimeMs">;

const sameVersion = (a: FileVersion, b: FileVersion): boolean =>
  a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;

function stillTheCheckedFile(file: KeptFile, root: string, path: string): boolean {
  try {
    const now = statSync(path, { throwIfNoEntry: false });
    if (now === undefined || !sameVersion(now, file)) return false;
    return readlinkSync(`/proc/self/fd/${file.fd}`).startsWith(realpathSync(root) + sep);
  } catch {
    return false;
  }
}
