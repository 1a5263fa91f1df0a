// At most one log line per key per interval, for events a misconfigured client repeats on every request (a DHCP
// server outside --trusted-proxies asks on every DHCP message). Pure: the caller passes the clock.

interface ThrottleDecision {
  /** Whether to write the line now. */
  allowed: boolean;
  /** Events for this key swallowed since the last allowed one (reported on the next allowed line). */
  suppressed: number;
}

export class PerKeyThrottle {
  private readonly entries = new Map<string, { lastAllowedAt: number; suppressed: number }>();

  /** `maxKeys` bounds memory when many distinct clients misbehave: the least recently allowed keys are forgotten. */
  constructor(
    private readonly intervalMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  allow(key: string, nowMs: number): ThrottleDecision {
    const entry = this.entries.get(key);
    if (entry && nowMs - entry.lastAllowedAt < this.intervalMs) {
      entry.suppressed++;
      return { allowed: false, suppressed: entry.suppressed };
    }
    const suppressed = entry?.suppressed ?? 0;
    // Re-inserting keeps the Map in order of the last allowed line, so the first key is the stalest.
    this.entries.delete(key);
    this.entries.set(key, { lastAllowedAt: nowMs, suppressed: 0 });
    if (this.entries.size > this.maxKeys) {
      const stalest = this.entries.keys().next();
      if (!stalest.done) this.entries.delete(stalest.value);
    }
    return { allowed: true, suppressed };
  }

  get size(): number {
    return this.entries.size;
  }
}
