// Decodes resource files on a small worker pool with a time budget per file, so no file (32 000 keys, an alias
// bomb, 100 000 levels of nesting) can stall the server: a file that overruns the budget is reported as an error
// on that file, its worker is replaced, and every other file loads. Small files in the plain YAML subset that
// decode cleanly are done inline instead (plain-yaml.ts): bounded cost, no round trip.
import { TaskTimeoutError, WorkerPool, workerEntry } from "../../worker/pool.ts";
import { type DecodedFile, decodePlainResourceFile } from "./documents.ts";
import { DEFAULT_YAML_LIMITS, type YamlLimits } from "./yaml-stream.ts";

export interface ParseLimits extends YamlLimits {
  /** Largest file read; bigger ones are an error on that file. */
  maxBytes: number;
  /** Time budget for decoding one file. */
  timeoutMs: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { ...DEFAULT_YAML_LIMITS, maxBytes: 4 * 1024 * 1024, timeoutMs: 5_000 };

/** Largest file tried on the serving thread first (plain-yaml.ts); a machine's file is ~1.5 KB. */
export const INLINE_MAX_CHARS = 64 * 1024;

/** What parse-worker.ts receives. */
export interface ParseTask {
  origin: string;
  text: string;
  limits: YamlLimits;
}

export class FileParser {
  private readonly pool: WorkerPool<ParseTask, DecodedFile>;

  constructor(
    private readonly limits: ParseLimits = DEFAULT_PARSE_LIMITS,
    options: { onWorkerReplaced?: (reason: string) => void } = {},
  ) {
    this.pool = new WorkerPool<ParseTask, DecodedFile>({
      entry: workerEntry(import.meta.url, "parse-worker.ts", "sources/files/parse-worker.ts"),
      timeoutMs: limits.timeoutMs,
      ...(options.onWorkerReplaced ? { onWorkerReplaced: options.onWorkerReplaced } : {}),
    });
  }

  /** Never rejects: every failure is a problem on `origin`. */
  async decode(origin: string, text: string): Promise<DecodedFile> {
    const { maxDepth, maxAliasNodes } = this.limits;
    // A worker round trip costs the serving thread ~0.9 ms per file (10 000 files: 10–15 s to ready); a small file
    // in the plain subset costs a few µs to decode here, linear and without alias expansion, so cannot stall it.
    if (text.length <= INLINE_MAX_CHARS) {
      const plain = decodePlainResourceFile(origin, text, { maxDepth, maxAliasNodes });
      if (plain) return plain;
    }
    try {
      return await this.pool.run({ origin, text, limits: { maxDepth, maxAliasNodes } });
    } catch (error) {
      const message =
        error instanceof TaskTimeoutError
          ? `parsing took longer than ${this.limits.timeoutMs / 1000} s (--parse-timeout); skipped`
          : `could not be parsed: ${error instanceof Error ? error.message : String(error)}`;
      return { ok: false, problem: { severity: "error", origin, path: "", message } };
    }
  }

  close(): void {
    this.pool.close();
  }
}
