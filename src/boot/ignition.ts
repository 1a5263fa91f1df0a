// Turns the Secret a config references into the Ignition JSON a machine receives. Butane is translated once per
// secret content and remembered, so a boot storm never re-translates an unchanged secret. When serving, the
// translation runs on a worker (see useTranslator) as soon as a new secret version is in the index, with a time
// budget: a huge or hostile document never holds up the thread that answers machines, and a request for a secret
// still being translated waits for that one result without blocking anything else.
import { SECRET_KEY_FORMAT, SECRET_KEY_IGNITION } from "../api/index.ts";
import type { BootIndex, SecretEntry } from "../index/boot-index.ts";
import { WorkerPool, workerEntry } from "../worker/pool.ts";
import { translateButane } from "./butane/index.ts";
import { type TranslatedButane, type TranslateRequest, translatedButane } from "./butane/translate-task.ts";
import { refreshSecrets } from "./secret-refresh.ts";
import { type Servable, unservable } from "./verdict.ts";

/** A secret's format: Ignition JSON as-is, or Butane (`fcos`, as in the Go operator; `flatcar` is accepted too). */
type IgnitionFormat = "ignition" | "fcos" | "flatcar";

export interface IgnitionDocument {
  json: string;
  format: IgnitionFormat;
  /** Butane warnings: the document is served, `validate` and the status mention them. */
  warnings: string[];
}

type IgnitionOutcome = Servable<IgnitionDocument>;

/**
 * The secret's `format` key: `fcos`/`flatcar` mean "Butane" (the document's own `variant` decides how it is
 * translated), anything else (or none) is Ignition JSON as-is.
 */
function ignitionFormatOf(entry: SecretEntry): IgnitionFormat {
  const format = entry.values.get(SECRET_KEY_FORMAT)?.trim().toLowerCase();
  return format === "fcos" || format === "flatcar" ? format : "ignition";
}

export function translateIgnitionSource(source: string, format: IgnitionFormat, secretKey: string): IgnitionOutcome {
  if (format === "ignition") {
    try {
      const parsed: unknown = JSON.parse(source);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        return unservable(500, "IgnitionInvalid", `ignition in secret ${secretKey} is not a JSON object`);
      }
      return { ok: true, json: source, format, warnings: [] };
    } catch (error) {
      return unservable(500, "IgnitionInvalid", `ignition in secret ${secretKey} is not valid JSON: ${(error as Error).message}`);
    }
  }
  return butaneOutcome(translatedButane(translateButane(source)), format, secretKey);
}

function butaneOutcome(result: TranslatedButane, format: IgnitionFormat, secretKey: string): IgnitionOutcome {
  if (!result.ok) return butaneFailure(secretKey, result.errors[0] ?? "unknown error", result.errors.length - 1);
  return { ok: true, json: result.ignitionJson, format, warnings: result.warnings };
}

/** The one-line reason for a Secret whose Butane does not translate (errors, or over the time budget). */
function butaneFailure(secretKey: string, detail: string, moreErrors = 0): IgnitionOutcome {
  const more = moreErrors > 0 ? ` (+${moreErrors} more)` : "";
  return unservable(500, "ButaneTranslationFailed", `butane in secret ${secretKey} does not translate: ${detail}${more}`);
}

/** Translates one Butane document somewhere else (a worker pool); resolves to the outcome, never rejects. */
type ButaneTranslator = (source: string, format: IgnitionFormat, secretKey: string) => Promise<IgnitionOutcome>;

/**
 * Butane translation on a worker pool with a time budget per document: one over it is an error on that Secret
 * (its worker is replaced), reported like any other Butane error.
 */
export function workerButaneTranslator(options: { timeoutMs: number; onWorkerReplaced?: (reason: string) => void }): {
  translate: ButaneTranslator;
  close: () => void;
} {
  const pool = new WorkerPool<TranslateRequest, TranslatedButane>({
    entry: workerEntry(import.meta.url, "butane/translate-worker.ts", "boot/butane/translate-worker.ts"),
    timeoutMs: options.timeoutMs,
    // Translations are rare (one per secret version) and each may be big: two at once is plenty.
    size: 2,
    ...(options.onWorkerReplaced ? { onWorkerReplaced: options.onWorkerReplaced } : {}),
  });
  const translate: ButaneTranslator = async (source, format, secretKey) => {
    try {
      return butaneOutcome(await pool.run({ source }), format, secretKey);
    } catch (error) {
      return butaneFailure(secretKey, error instanceof Error ? error.message : String(error));
    }
  };
  return { translate, close: () => pool.close() };
}

interface CachedTranslation {
  source: string;
  format: IgnitionFormat;
  /** Undefined while a worker translates it. */
  outcome: IgnitionOutcome | undefined;
  settled: Promise<IgnitionOutcome>;
}

/** The verdict while a secret version is still being translated; requests wait (`settled`) rather than see it. */
function pendingOutcome(secretKey: string): IgnitionOutcome {
  return unservable(503, "IgnitionPending", `butane in secret ${secretKey} is still being translated`);
}

export class IgnitionCache {
  private readonly entries = new Map<string, CachedTranslation>();
  /** Translations of secret versions from an index already replaced (a request or diagnosis still holding it). */
  private readonly superseded = new WeakMap<SecretEntry, CachedTranslation>();
  private translator: ButaneTranslator | undefined;
  private current: BootIndex | undefined;
  /** The last refresh had a translator: its lookups covered every referenced secret. */
  private refreshedWithTranslator = false;
  /** Told once per secret version whose Butane translated with warnings (the server logs them). */
  onWarnings: ((secretKey: string, warnings: readonly string[]) => void) | undefined;

  /**
   * Translate Butane with `translator` from now on, never on the calling thread. Without one (the one-shot
   * `validate`/`explain`, unit tests) Butane is translated synchronously on first use.
   */
  useTranslator(translator: ButaneTranslator): void {
    this.translator = translator;
  }

  /**
   * The index changed: start translating every secret version not seen before, so requests find them done.
   * Secrets that no longer exist are forgotten, so the cache is bounded by the live resource set.
   */
  refresh(index: BootIndex): void {
    const previous = this.current;
    this.current = index;
    refreshSecrets({
      previous,
      index,
      patchable: this.refreshedWithTranslator,
      entries: this.entries,
      prune: () => this.prune(index),
      active: this.translator !== undefined,
      wanted: (entry) => entry.values.has(SECRET_KEY_IGNITION) && index.configsBySecret.has(entry.key),
      lookup: (entry) => {
        this.lookup(entry);
      },
    });
    this.refreshedWithTranslator = this.translator !== undefined;
  }

  /** Outcome for one secret as it is now: `IgnitionPending` while a worker is still translating it. */
  outcomeFor(entry: SecretEntry): IgnitionOutcome {
    const cached = this.lookup(entry);
    if (!cached) return unservable(404, "SecretKeyMissing", `secret ${entry.key} has no key "${SECRET_KEY_IGNITION}"`);
    return cached.outcome ?? pendingOutcome(entry.key);
  }

  /** Resolves once this secret version's outcome is known (at once if it is); never rejects. */
  async settled(entry: SecretEntry): Promise<void> {
    await this.lookup(entry)?.settled;
  }

  /** Every translation under way for the current entries has finished. */
  async allSettled(): Promise<void> {
    // Only those still under way: waiting on every entry's settled promise was ~9% of each change at 10 000 secrets.
    const pending: Promise<unknown>[] = [];
    for (const cached of this.entries.values()) if (cached.outcome === undefined) pending.push(cached.settled);
    await Promise.all(pending);
  }

  private lookup(entry: SecretEntry): CachedTranslation | undefined {
    const source = entry.values.get(SECRET_KEY_IGNITION);
    if (source === undefined) return undefined;
    const format = ignitionFormatOf(entry);
    const cached = this.entries.get(entry.key);
    if (cached && cached.format === format && cached.source === source) return cached;
    const translator = this.translator;
    if (format === "ignition" || !translator) {
      // JSON.parse is linear and native; only Butane goes to the worker.
      const outcome = translateIgnitionSource(source, format, entry.key);
      return this.remember(entry.key, { source, format, outcome, settled: Promise.resolve(outcome) });
    }
    // An entry of an index already replaced must not evict the current version's translation.
    const stale = this.current !== undefined && this.current.secrets.get(entry.key) !== entry;
    if (stale) {
      const known = this.superseded.get(entry);
      if (known) return known;
    }
    const translation: CachedTranslation = { source, format, outcome: undefined, settled: Promise.resolve(pendingOutcome(entry.key)) };
    translation.settled = translator(source, format, entry.key).then((outcome) => {
      translation.outcome = outcome;
      // Only a version still current is announced (a superseded one was replaced while it was translated).
      if (this.entries.get(entry.key) === translation) this.announce(entry.key, outcome);
      return outcome;
    });
    if (stale) this.superseded.set(entry, translation);
    else this.entries.set(entry.key, translation);
    return translation;
  }

  private remember(secretKey: string, translation: CachedTranslation): CachedTranslation {
    this.entries.set(secretKey, translation);
    if (translation.outcome) this.announce(secretKey, translation.outcome);
    return translation;
  }

  /** Only here, where a new secret version has been translated: a boot storm does not repeat the warnings. */
  private announce(secretKey: string, outcome: IgnitionOutcome): void {
    if (outcome.ok && outcome.warnings.length > 0) this.onWarnings?.(secretKey, outcome.warnings);
  }

  /** Forget secrets that no longer exist, so the cache is bounded by the live resource set. */
  prune(index: BootIndex): void {
    for (const key of this.entries.keys()) if (!index.secrets.has(key)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
