// Custom iPXE scripts from secrets (key `ipxe-script`). They may use the default template's fields, so they are
// parsed like templates: once per secret content. When serving, the parse runs on a worker (see useParser) as soon
// as a new version of a referenced secret is in the index, with the --translate-timeout budget, exactly as Butane
// is translated (boot/ignition.ts): a huge script never holds up the thread that answers machines, and a request
// for a script still being parsed waits for that one result without blocking anything else.
import { SECRET_KEY_IPXE_SCRIPT } from "../api/index.ts";
import type { BootIndex, SecretEntry } from "../index/boot-index.ts";
import { WorkerPool, workerEntry } from "../worker/pool.ts";
import type { IpxeTemplate } from "./ipxe-template.ts";
import type { ParsedTemplate, ParseTemplateRequest } from "./ipxe-template-task.ts";
import { runParseTemplateTask } from "./ipxe-template-task.ts";
import { refreshSecrets } from "./secret-refresh.ts";
import { type Servable, unservable } from "./verdict.ts";

type IpxeScriptOutcome = Servable<{ template: IpxeTemplate }>;

function scriptOutcome(result: ParsedTemplate, secretKey: string): IpxeScriptOutcome {
  if (result.ok) return { ok: true, template: result.template };
  return unservable(500, "IPXEScriptInvalid", `ipxe-script in secret ${secretKey}: ${result.error}`);
}

/** Parses one template somewhere else (a worker pool); resolves to the outcome, never rejects. */
type TemplateParser = (source: string, secretKey: string) => Promise<IpxeScriptOutcome>;

/**
 * Template parsing on a worker pool with a time budget per script: one over it is an error on that Secret (its
 * worker is replaced), reported like any other template error.
 */
export function workerIpxeTemplateParser(options: { timeoutMs: number; onWorkerReplaced?: (reason: string) => void }): {
  parse: TemplateParser;
  close: () => void;
} {
  const pool = new WorkerPool<ParseTemplateRequest, ParsedTemplate>({
    entry: workerEntry(import.meta.url, "ipxe-template-worker.ts", "boot/ipxe-template-worker.ts"),
    timeoutMs: options.timeoutMs,
    // Parses are rare (one per secret version): one worker is plenty.
    size: 1,
    ...(options.onWorkerReplaced ? { onWorkerReplaced: options.onWorkerReplaced } : {}),
  });
  const parse: TemplateParser = async (source, secretKey) => {
    try {
      return scriptOutcome(await pool.run({ source }), secretKey);
    } catch (error) {
      return scriptOutcome({ ok: false, error: error instanceof Error ? error.message : String(error) }, secretKey);
    }
  };
  return { parse, close: () => pool.close() };
}

interface CachedScript {
  source: string;
  /** Undefined while a worker parses it. */
  outcome: IpxeScriptOutcome | undefined;
  settled: Promise<IpxeScriptOutcome>;
}

/** The verdict while a secret version is still being parsed; requests wait (`settled`) rather than see it. */
function pendingOutcome(secretKey: string): IpxeScriptOutcome {
  return unservable(503, "IPXEScriptPending", `ipxe-script in secret ${secretKey} is still being parsed`);
}

export class IpxeScriptCache {
  private readonly entries = new Map<string, CachedScript>();
  /** Parses of secret versions from an index already replaced (a request or diagnosis still holding it). */
  private readonly superseded = new WeakMap<SecretEntry, CachedScript>();
  private parser: TemplateParser | undefined;
  private current: BootIndex | undefined;
  /** The last refresh had a parser: its lookups covered every referenced secret. */
  private refreshedWithParser = false;

  /**
   * Parse templates with `parser` from now on, never on the calling thread. Without one (the one-shot
   * `validate`/`explain`, unit tests) a template is parsed synchronously on first use.
   */
  useParser(parser: TemplateParser): void {
    this.parser = parser;
  }

  /** The index changed: start parsing every referenced secret version not seen before, so requests find them done. */
  refresh(index: BootIndex): void {
    const previous = this.current;
    this.current = index;
    refreshSecrets({
      previous,
      index,
      patchable: this.refreshedWithParser,
      entries: this.entries,
      prune: () => this.prune(index),
      active: this.parser !== undefined,
      wanted: (entry) => entry.values.has(SECRET_KEY_IPXE_SCRIPT) && index.configsBySecret.has(entry.key),
      lookup: (entry) => {
        this.lookup(entry);
      },
    });
    this.refreshedWithParser = this.parser !== undefined;
  }

  /** Outcome for one secret as it is now: `IPXEScriptPending` while a worker is still parsing it. */
  outcomeFor(entry: SecretEntry): IpxeScriptOutcome {
    const cached = this.lookup(entry);
    if (!cached) return unservable(404, "SecretKeyMissing", `secret ${entry.key} has no key "${SECRET_KEY_IPXE_SCRIPT}"`);
    return cached.outcome ?? pendingOutcome(entry.key);
  }

  /** Resolves once this secret version's outcome is known (at once if it is); never rejects. */
  async settled(entry: SecretEntry): Promise<void> {
    await this.lookup(entry)?.settled;
  }

  /** Every parse under way for the current entries has finished. */
  async allSettled(): Promise<void> {
    // Only those still under way: waiting on every entry's settled promise was ~9% of each change at 10 000 secrets.
    const pending: Promise<unknown>[] = [];
    for (const cached of this.entries.values()) if (cached.outcome === undefined) pending.push(cached.settled);
    await Promise.all(pending);
  }

  private lookup(entry: SecretEntry): CachedScript | undefined {
    const source = entry.values.get(SECRET_KEY_IPXE_SCRIPT);
    if (source === undefined) return undefined;
    const cached = this.entries.get(entry.key);
    if (cached && cached.source === source) return cached;
    const parser = this.parser;
    if (!parser) {
      const outcome = scriptOutcome(runParseTemplateTask({ source }), entry.key);
      const parsed: CachedScript = { source, outcome, settled: Promise.resolve(outcome) };
      this.entries.set(entry.key, parsed);
      return parsed;
    }
    // An entry of an index already replaced must not evict the current version's parse.
    const stale = this.current !== undefined && this.current.secrets.get(entry.key) !== entry;
    if (stale) {
      const known = this.superseded.get(entry);
      if (known) return known;
    }
    const parse: CachedScript = { source, outcome: undefined, settled: Promise.resolve(pendingOutcome(entry.key)) };
    parse.settled = parser(source, entry.key).then((outcome) => {
      parse.outcome = outcome;
      return outcome;
    });
    if (stale) this.superseded.set(entry, parse);
    else this.entries.set(entry.key, parse);
    return parse;
  }

  /** Forget secrets that no longer exist, so the cache is bounded by the live resource set. */
  prune(index: BootIndex): void {
    for (const key of this.entries.keys()) if (!index.secrets.has(key)) this.entries.delete(key);
  }

  /** Cached secret versions (tests). */
  get size(): number {
    return this.entries.size;
  }
}
