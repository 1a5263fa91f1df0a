// Boot answers remembered per index generation. What /ipxe/{uuid}, /ignition/{uuid} and /httpboot answer is a
// function of the index and the request's key (the UUID segment, the X-Forwarded-For pair); in a boot storm every
// machine asks again and again, and resolving, settling and rendering the same answer was most of a request's CPU.
// An entry holds only for the index it was made from: a new index (any config or secret changed) starts empty, so
// a change is served at once and nothing needs invalidating one by one. Only answers that matched a config are
// remembered, and the map is cleared when it outgrows the fleet, so strangers' keys cannot grow it. Once a storm
// is over the memo is let go (afterStorm): its bodies were 14 MiB of the 35 MiB a storm over 10 000 machines left
// in the heap, for answers the next boot, hours later, may well not ask for; the first ask renders again.

/**
 * What a remembered answer notes about the last fetch of it that was recorded (boot timeline, served status), so a
 * client asking again at once is not recorded again (isRecentRepeat).
 */
export interface RecordedFetch {
  recordedClient?: string;
  recordedAt?: number;
}

/** A fetch of an answer by the client whose fetch of it was recorded less than this long ago is a repeat. */
export const REPEAT_WINDOW_MS = 1_000;

/**
 * Whether this fetch of `answer` repeats the one recorded last (same client, less than REPEAT_WINDOW_MS later);
 * otherwise it is the one recorded now. A repeat would change nothing recorded: the timeline only moves a retry's
 * time, the served status ignores a client's repeats for ten seconds. Recording one was a third of a remembered
 * answer's CPU (the timeline, status and success-log lookups on fleet-sized maps), and a storm, FeDHCP (it asks
 * /httpboot on every DHCP message) and a looping iPXE are mostly repeats. A changed index makes new answers, so
 * the first fetch after a change is always recorded.
 */
export function isRecentRepeat(answer: RecordedFetch, client: string, now: number): boolean {
  const at = answer.recordedAt;
  if (at !== undefined && answer.recordedClient === client && now >= at && now - at < REPEAT_WINDOW_MS) return true;
  answer.recordedClient = client;
  answer.recordedAt = now;
  return false;
}

/** The index object an answer was derived from; compared by identity. */
type Generation = object;

/**
 * Answers by key, within a scope: /httpboot's answers are by peer (the scope: a DHCP server or two) and
 * X-Forwarded-For (the key). A key joined from both was a new rope string per request, flattened to be hashed:
 * ~0.3 µs a request more than two lookups on the strings as they came.
 */
export class AnswerMemo<V> {
  private generation: Generation | undefined;
  private scopes = new Map<string, Map<string, V>>();
  private count = 0;

  /**
   * `limit`: entries held at most before the memo starts over (the fleet's size and some slack). `afterStorm`:
   * registers the memo's release for when a storm is over (HttpDeps.afterStorm).
   */
  constructor(
    private readonly limit: () => number,
    afterStorm?: (release: () => void) => void,
  ) {
    afterStorm?.(() => this.clear());
  }

  clear(): void {
    this.generation = undefined;
    this.scopes = new Map();
    this.count = 0;
  }

  get(generation: Generation, key: string, scope = ""): V | undefined {
    return generation === this.generation ? this.scopes.get(scope)?.get(key) : undefined;
  }

  /** Remembers `value` for `generation`; ignored when that generation is no longer `current` (a change raced it). */
  set(generation: Generation, current: Generation, key: string, value: V, scope = ""): void {
    if (generation !== current) return;
    if (generation !== this.generation || this.count >= this.limit()) {
      this.generation = generation;
      this.scopes = new Map();
      this.count = 0;
    }
    let entries = this.scopes.get(scope);
    if (!entries) {
      entries = new Map();
      this.scopes.set(scope, entries);
    }
    const before = entries.size;
    entries.set(key, value);
    this.count += entries.size - before;
  }

  get size(): number {
    return this.count;
  }
}
