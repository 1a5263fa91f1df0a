// Boot successes are counted, not written one line each: a boot flood at info level wrote 81 MB of near-identical
// lines in 12 s. What stays at info is the first time a config is served to a client (the line an operator looks
// for) and one summary per route per interval; every request is still a debug line. Pure: the caller passes the
// clock and writes the lines.

interface SuccessSummary {
  route: string;
  intervalSeconds: number;
  total: number;
  /** Requests per config (or file) in the interval, the busiest first, at most `maxConfigsPerSummary`. */
  byConfig: Record<string, number>;
  /** Configs left out of byConfig. */
  otherConfigs: number;
}

export class SuccessLog {
  private readonly seenPairs = new Map<string, true>();
  private counts = new Map<string, Map<string, number>>();
  private windowStartedAt: number;

  constructor(
    nowMs: number,
    private readonly maxPairs = 10_000,
    private readonly maxConfigsPerSummary = 20,
  ) {
    this.windowStartedAt = nowMs;
  }

  /** Counts one success; true when this config+client pair is new (log it at info), false for a repeat (debug). */
  record(route: string, config: string, client: string): boolean {
    let byConfig = this.counts.get(route);
    if (!byConfig) {
      byConfig = new Map();
      this.counts.set(route, byConfig);
    }
    byConfig.set(config, (byConfig.get(config) ?? 0) + 1);
    const pair = `${route}\u0000${config}\u0000${client}`;
    if (this.seenPairs.has(pair)) return false;
    this.seenPairs.set(pair, true);
    // Bounded: past maxPairs the oldest pair is forgotten (and would be reported as new once more).
    if (this.seenPairs.size > this.maxPairs) {
      const oldest = this.seenPairs.keys().next();
      if (!oldest.done) this.seenPairs.delete(oldest.value);
    }
    return true;
  }

  /** One summary per route with successes since the last drain; resets the counts. */
  drain(nowMs: number): SuccessSummary[] {
    const intervalSeconds = Math.round((nowMs - this.windowStartedAt) / 100) / 10;
    this.windowStartedAt = nowMs;
    const summaries: SuccessSummary[] = [];
    for (const [route, byConfig] of this.counts) {
      const sorted = [...byConfig].sort((a, b) => b[1] - a[1]);
      const kept = sorted.slice(0, this.maxConfigsPerSummary);
      summaries.push({
        route,
        intervalSeconds,
        total: sorted.reduce((sum, [, count]) => sum + count, 0),
        byConfig: Object.fromEntries(kept),
        otherConfigs: sorted.length - kept.length,
      });
    }
    this.counts = new Map();
    return summaries;
  }
}
