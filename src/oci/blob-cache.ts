// On-disk cache of verified blobs, keyed by digest, bounded in bytes with least-recently-used eviction.
//
// A miss starts one upstream download into a temporary file; every request for the same digest that arrives
// meanwhile reads that same file as it grows, so N machines booting the same image cost one registry pull.
// Readers never get the final byte before the download hashed to its digest: a corrupt blob ends every reader's
// transfer with an error and never enters the cache.
import { type FileHandle, mkdir, open, readdir, rename, rm, stat, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { OciLog } from "./client.ts";
import { type DigestMismatch, describeMismatch, verifyingStream } from "./digest.ts";
import { OciError } from "./errors.ts";
import { digestAlgorithm, digestHex, isDigest } from "./reference.ts";

interface BlobCacheOptions {
  /** Owned by this cache: files in it that do not look like cached blobs are removed. */
  directory: string;
  maxBytes: number;
  log?: OciLog;
}

export interface CachedBlob {
  path: string;
  size: number;
}

/** What the caller's upstream fetch yields for a download. */
export interface BlobSource {
  body: ReadableStream<Uint8Array>;
  /** From Content-Length; undefined when the registry did not say. */
  size: number | undefined;
}

interface BlobStream {
  stream: ReadableStream<Uint8Array>;
  size: number | undefined;
  /** True when this request joined a download another request had started. */
  joined: boolean;
}

interface BlobCacheUsage {
  entries: number;
  bytes: number;
  maxBytes: number;
  downloads: number;
}

const READ_CHUNK_BYTES = 256 * 1024;

interface Entry {
  size: number;
}

export class BlobCache {
  readonly #blobDir: string;
  readonly #tmpDir: string;
  readonly #maxBytes: number;
  readonly #log: OciLog;
  /** Map order is recency: first = least recently used. */
  readonly #entries = new Map<string, Entry>();
  readonly #downloads = new Map<string, Download>();
  /** Digests of undeclared size that outgrew the cache once: later requests stream them without caching. */
  readonly #oversized = new Set<string>();
  #bytes = 0;
  #temporarySequence = 0;

  private constructor(options: BlobCacheOptions) {
    this.#blobDir = join(options.directory, "blobs");
    this.#tmpDir = join(options.directory, "tmp");
    this.#maxBytes = options.maxBytes;
    this.#log = options.log ?? (() => {});
  }

  /** Opens (creating if needed) the cache directory and indexes what a previous run left, oldest use first. */
  static async open(options: BlobCacheOptions): Promise<BlobCache> {
    if (!Number.isFinite(options.maxBytes) || options.maxBytes <= 0) throw new Error("blob cache size limit must be a positive number of bytes");
    const cache = new BlobCache(options);
    await rm(cache.#tmpDir, { recursive: true, force: true });
    await mkdir(cache.#tmpDir, { recursive: true });
    await mkdir(cache.#blobDir, { recursive: true });
    const found: { digest: string; size: number; usedAt: number }[] = [];
    for (const algorithm of await readdir(cache.#blobDir)) {
      const dir = join(cache.#blobDir, algorithm);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const digest = `${algorithm}:${name}`;
        const path = join(dir, name);
        const info = await stat(path).catch(() => null);
        if (!isDigest(digest) || !info?.isFile()) {
          await rm(path, { recursive: true, force: true });
          continue;
        }
        found.push({ digest, size: info.size, usedAt: info.atimeMs });
      }
    }
    found.sort((a, b) => a.usedAt - b.usedAt);
    for (const blob of found) cache.#add(blob.digest, blob.size);
    await cache.#evict(undefined);
    return cache;
  }

  get usage(): BlobCacheUsage {
    return { entries: this.#entries.size, bytes: this.#bytes, maxBytes: this.#maxBytes, downloads: this.#downloads.size };
  }

  pathOf(digest: string): string {
    return join(this.#blobDir, digestAlgorithm(digest), digestHex(digest));
  }

  /** A complete, verified blob, marked as just used; undefined on a miss. */
  lookup(digest: string): CachedBlob | undefined {
    const entry = this.#entries.get(digest);
    if (!entry) return undefined;
    this.#entries.delete(digest);
    this.#entries.set(digest, entry);
    const path = this.pathOf(digest);
    // Remember the use across restarts (atime only: mtime feeds the file's ETag).
    stat(path)
      .then((info) => utimes(path, new Date(), info.mtime))
      .catch(() => {});
    return { path, size: entry.size };
  }

  /**
   * A stream of the blob from the start, fed by the running download for `digest` or by a new one that
   * `fetchUpstream` opens. Rejects when the upstream fetch fails before any byte (its error is passed on).
   */
  async stream(
    digest: string,
    fetchUpstream: (signal: AbortSignal) => Promise<BlobSource>,
    onMismatch?: (mismatch: DigestMismatch) => void,
  ): Promise<BlobStream> {
    let download = this.#downloads.get(digest);
    // A download that already ended (failed, or verified and about to leave the map) is not joined: a failed
    // one would fail this request too, and a finished one may have closed its file.
    if (download && download.state !== "running") download = undefined;
    const joined = download !== undefined;
    if (!download) {
      const started = new Download(
        digest,
        join(this.#tmpDir, `${digestHex(digest).slice(0, 16)}.${process.pid}.${++this.#temporarySequence}`),
        this.#maxBytes,
        this.#oversized.has(digest),
        this.#log,
      );
      this.#downloads.set(digest, started);
      download = started;
      void started.run(
        fetchUpstream,
        onMismatch,
        (size) => this.#commit(started, size),
        () => {
          if (this.#downloads.get(digest) === started) this.#downloads.delete(digest);
          if (started.outgrewCache) this.#oversized.add(digest);
        },
      );
    }
    // Take the reader before awaiting, so the download cannot finish and close its file in between.
    const stream = download.reader();
    try {
      await download.ready;
    } catch (error) {
      await stream.cancel().catch(() => {});
      throw error;
    }
    if (download.state === "passthrough") {
      await stream.cancel().catch(() => {});
      // Too big for the cache: the request that started the download gets the registry's
      // body directly; a request that had joined it starts its own (which passes through the same way).
      const direct = joined ? undefined : download.takePassthrough();
      if (!direct) return this.stream(digest, fetchUpstream, onMismatch);
      this.#log("info", "blob larger than the cache, served without caching", {
        digest,
        size: download.size,
        maxBytes: this.#maxBytes,
      });
      return { stream: verifyingStream(direct, digest, download.size, onMismatch ?? (() => {})), size: download.size, joined: false };
    }
    return { stream, size: download.size, joined };
  }

  /** Stops all running downloads (readers see an error). For shutdown and tests. */
  async close(): Promise<void> {
    const running = [...this.#downloads.values()];
    for (const download of running) download.abort();
    await Promise.allSettled(running.map((download) => download.finished));
  }

  /** Moves a verified download into the cache, unless it alone is bigger than the whole cache. */
  async #commit(download: Download, size: number): Promise<void> {
    if (size > this.#maxBytes) {
      this.#log("info", "blob larger than the cache, served without caching", { digest: download.digest, size, maxBytes: this.#maxBytes });
      await unlink(download.path).catch(() => {});
      return;
    }
    const target = this.pathOf(download.digest);
    await mkdir(join(this.#blobDir, digestAlgorithm(download.digest)), { recursive: true });
    await rename(download.path, target);
    // The digest may already be present if an earlier copy was committed meanwhile; count it once.
    if (this.#entries.has(download.digest)) this.#remove(download.digest);
    this.#add(download.digest, size);
    await this.#evict(download.digest);
  }

  #add(digest: string, size: number): void {
    this.#entries.set(digest, { size });
    this.#bytes += size;
  }

  #remove(digest: string): void {
    const entry = this.#entries.get(digest);
    if (!entry) return;
    this.#entries.delete(digest);
    this.#bytes -= entry.size;
  }

  async #evict(keep: string | undefined): Promise<void> {
    for (const [digest] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      if (digest === keep) continue;
      this.#remove(digest);
      // Readers that already opened the file keep reading it: unlink only drops the name.
      await unlink(this.pathOf(digest)).catch(() => {});
      this.#log("debug", "evicted cached blob", { digest });
    }
  }
}

/** passthrough: never written to disk, its body goes to the request that started it (see BlobCache.stream). */
type DownloadState = "running" | "verified" | "failed" | "passthrough";

/** One upstream download into a temporary file, readable by any number of readers while it runs. */
class Download {
  state: DownloadState = "running";
  error: Error | undefined;
  size: number | undefined;
  written = 0;
  outgrewCache = false;
  readonly ready: Promise<void>;
  readonly finished: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;
  #resolveFinished!: () => void;
  #handle: FileHandle | undefined;
  #readers = 0;
  #writerDone = false;
  #waiters: (() => void)[] = [];
  readonly #abort = new AbortController();

  #passthrough: ReadableStream<Uint8Array> | undefined;

  constructor(
    readonly digest: string,
    readonly path: string,
    /** The cache's whole size: a blob bigger than this is never written past it. */
    private readonly maxBytes: number,
    /** Known too big for the cache even though the registry does not declare its size. */
    private readonly knownOversized: boolean,
    private readonly log: OciLog,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Joiners that never await `ready` must not turn a failure into an unhandled rejection.
    this.ready.catch(() => {});
    this.finished = new Promise((resolve) => (this.#resolveFinished = resolve));
  }

  /** The upstream body of a passthrough download, once. */
  takePassthrough(): ReadableStream<Uint8Array> | undefined {
    const body = this.#passthrough;
    this.#passthrough = undefined;
    return body;
  }

  abort(): void {
    this.#abort.abort(new Error("blob cache closed"));
  }

  async run(
    fetchUpstream: (signal: AbortSignal) => Promise<BlobSource>,
    onMismatch: ((mismatch: DigestMismatch) => void) | undefined,
    commit: (size: number) => Promise<void>,
    /** Called as soon as the outcome is known, before any waiting request hears of it. */
    settled: () => void,
  ): Promise<void> {
    let cancelSource: (() => void) | undefined;
    try {
      const source = await fetchUpstream(this.#abort.signal);
      this.size = source.size;
      if (source.size === undefined ? this.knownOversized : source.size > this.maxBytes) {
        this.#passthrough = source.body;
        this.state = "passthrough";
        settled();
        this.#resolveReady();
        return;
      }
      const reader = source.body.getReader();
      cancelSource = () => void reader.cancel().catch(() => {});
      this.#handle = await open(this.path, "w+");
      this.#resolveReady();
      const hasher = new Bun.CryptoHasher(digestAlgorithm(this.digest));
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.byteLength === 0) continue;
        await writeFully(this.#handle, value, this.written);
        hasher.update(value);
        this.written += value.byteLength;
        // The declared size was checked against the cache's limit, so this also keeps the file within it.
        if (this.size !== undefined && this.written > this.size) throw this.#mismatch("(longer than expected)", onMismatch);
        if (this.written > this.maxBytes) {
          // Only possible without a declared size: cut it here, and stream it uncached from now on.
          this.outgrewCache = true;
          throw new OciError("BLOB_LIMIT", `download of ${this.digest} (size not declared) outgrew the blob cache (${this.maxBytes} bytes)`);
        }
        this.#notify();
      }
      const actual = `${digestAlgorithm(this.digest)}:${hasher.digest("hex")}`;
      if (actual !== this.digest || (this.size !== undefined && this.written !== this.size)) throw this.#mismatch(actual, onMismatch);
      await commit(this.written);
      this.state = "verified";
      settled();
    } catch (error) {
      this.state = "failed";
      this.error = error instanceof Error ? error : new Error(String(error));
      settled();
      this.#rejectReady(this.error);
      cancelSource?.();
      await unlink(this.path).catch(() => {});
      if (!(error instanceof OciError && error.code === "DIGEST_MISMATCH")) {
        this.log("warn", "blob download failed", { digest: this.digest, error: this.error.message });
      }
    } finally {
      this.#writerDone = true;
      this.#notify();
      await this.#closeIfUnused();
      this.#resolveFinished();
    }
  }

  #mismatch(actual: string, onMismatch: ((mismatch: DigestMismatch) => void) | undefined): OciError {
    const mismatch: DigestMismatch = { expected: this.digest, actual, expectedSize: this.size, actualSize: this.written };
    onMismatch?.(mismatch);
    return new OciError("DIGEST_MISMATCH", describeMismatch(mismatch));
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #closeIfUnused(): Promise<void> {
    if (this.#writerDone && this.#readers === 0 && this.#handle) {
      const handle = this.#handle;
      this.#handle = undefined;
      await handle.close().catch(() => {});
    }
  }

  /** A new reader from byte 0. It may read all but the last written byte until the blob verified. */
  reader(): ReadableStream<Uint8Array> {
    this.#readers++;
    let position = 0;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#readers--;
      void this.#closeIfUnused();
    };
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          for (;;) {
            if (this.state === "failed") {
              release();
              controller.error(this.error);
              return;
            }
            const limit = this.state === "verified" ? this.written : Math.max(0, this.written - 1);
            const handle = this.#handle;
            if (position < limit && handle) {
              const length = Math.min(READ_CHUNK_BYTES, limit - position);
              const buffer = new Uint8Array(length);
              const { bytesRead } = await handle.read(buffer, 0, length, position);
              if (bytesRead === 0) {
                release();
                controller.error(new Error(`cached download of ${this.digest} shrank while reading`));
                return;
              }
              position += bytesRead;
              controller.enqueue(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
              return;
            }
            if (this.state === "verified") {
              release();
              controller.close();
              return;
            }
            await this.#changed();
          }
        },
        cancel: () => release(),
      },
      { highWaterMark: 0 },
    );
  }
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset, position + offset);
    offset += bytesWritten;
  }
}
