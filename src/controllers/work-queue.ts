// A keyed work queue for reconcilers: a key queued many times is processed once; a key is never processed by two
// workers at once (a slower worker holding older state could otherwise write last); a key that changes while it is
// being processed is processed again afterwards.

export class KeyedWorkQueue {
  private readonly pending = new Set<string>();
  private readonly inFlight = new Set<string>();
  private running = false;
  private workers = 0;
  private idle: (() => void) | undefined;

  constructor(
    private readonly process: (key: string) => Promise<void>,
    private readonly concurrency = 4,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  add(key: string): void {
    this.pending.add(key);
  }

  /** Starts workers for runnable keys, up to the concurrency limit; a slow key never holds up the others. */
  kick(): void {
    while (this.running && this.workers < this.concurrency && this.hasRunnable()) {
      this.workers++;
      void this.work().finally(() => {
        this.workers--;
        if (this.workers === 0) this.idle?.();
        // A key skipped because it was in flight may be runnable now.
        this.kick();
      });
    }
  }

  start(): void {
    this.running = true;
    this.kick();
  }

  /** Stops taking keys and waits for the ones being processed. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.workers > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.idle = undefined;
  }

  private hasRunnable(): boolean {
    for (const key of this.pending) if (!this.inFlight.has(key)) return true;
    return false;
  }

  private next(): string | undefined {
    for (const key of this.pending) {
      if (!this.inFlight.has(key)) {
        this.pending.delete(key);
        return key;
      }
    }
    return undefined;
  }

  private async work(): Promise<void> {
    for (let key = this.next(); key !== undefined; key = this.running ? this.next() : undefined) {
      this.inFlight.add(key);
      try {
        await this.process(key);
      } finally {
        this.inFlight.delete(key);
      }
    }
  }
}
