// Boot answers remembered per index generation. What /ipxe/{uuid}, /ignition/{uuid} and /httpboot answer is a
// function of the index and the request's key (the UUID segment, the X-Forwarded-For pair); in a boot storm every
// machine asks again and again, and resolving, settling and rendering the same answer was most of a request's CPU.
// An entry holds only for the index it was made from: a new index (any config or secret changed) starts empty, so
// a change is served at once and nothing needs invalidating one by one. Only answers that matched a config are
// remembered, and the map is cleared when it outgrows the fleet, so strangers' keys cannot grow it. Once a storm
// is over the memo is let go (afterStorm): its bodies were 14 MiB of the 35 MiB a storm over 10 000 machines left
// in the heap, for answers the next boot, hours later, may well not ask for; the first ask renders again.

/** The index object an answer was derived from; compared by identity. */
type Generation = object;

export class AnswerMemo<V> {
  private generation: Generation | undefined;
  private entries = new Map<string, V>();

  /**
   * `limit`: entries held at most before the map starts over (the fleet's size and some slack). `afterStorm`:
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
    this.entries = new Map();
  }

  get(generation: Generation, key: string): V | undefined {
    return generation === this.generation ? this.entries.get(key) : undefined;
  }

  /** Remembers `value` for `generation`; ignored when that generation is no longer `current` (a change raced it). */
  set(generation: Generation, current: Generation, key: string, value: V): void {
    if (generation !== current) return;
    if (generation !== this.generation) {
      this.generation = generation;
      this.entries = new Map();
    } else if (this.entries.size >= this.limit()) {
      this.entries.clear();
    }
    this.entries.set(key, value);
  }

  get size(): number {
    return this.entries.size;
  }
}
