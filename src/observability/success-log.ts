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

interface ConfigEntry {
  /** Successes in the current interval. */
  count: number;
  /**
   * Clients remembered for this config: a repeat is one lookup, no key string built per request. One client (a
   * config is one machine's) is the string itself, so its repeats cost one compare; a Set only from the second: a
   * Set per config and route was 10 000 of the heap's objects after one route's storm at 10 000 machines. (A
   * separate last-seen client, compared first, only helped configs with several clients, and made every entry
   * 16 bytes larger.)
   */
  clients: string | Set<string> | undefined;
}

function hasClient(entry: ConfigEntry, client: string): boolean {
  const clients = entry.clients;
  return typeof clients === "string" ? clients === client : clients?.has(client) === true;
}

function addClient(entry: ConfigEntry, client: string): void {
  const clients = entry.clients;
  if (clients === undefined) entry.clients = client;
  else if (typeof clients === "string") entry.clients = new Set([clients, client]);
  else clients.add(client);
}

function deleteClient(entry: ConfigEntry, client: string): void {
  const clients = entry.clients;
  if (typeof clients === "string") {
    if (clients === client) entry.clients = undefined;
  } else clients?.delete(client);
}

function noClients(entry: ConfigEntry): boolean {
  const clients = entry.clients;
  return clients === undefined || (typeof clients !== "string" && clients.size === 0);
}

export class SuccessLog {
  private readonly byRoute = new Map<string, Map<string, ConfigEntry>>();
  /**
   * Remembered pairs in the order they were first seen, for forgetting the oldest past maxPairs: three slots each
   * (route, config, client), not an object per pair (30 000 objects after a storm over three routes at 10 000
   * machines); forgetting one looks its entry up again.
   */
  private readonly order: string[] = [];
  /** The first slot of the oldest pair still remembered. */
  private orderHead = 0;
  private windowStartedAt: number;

  constructor(
    nowMs: number,
    private readonly maxPairs = 50_000,
    private readonly maxConfigsPerSummary = 20,
  ) {
    this.windowStartedAt = nowMs;
  }

  /** Counts one success; true when this config+client pair is new (log it at info), false for a repeat (debug). */
  record(route: string, config: string, client: string): boolean {
    let byConfig = this.byRoute.get(route);
    if (!byConfig) {
      byConfig = new Map();
      this.byRoute.set(route, byConfig);
    }
    let entry = byConfig.get(config);
    if (!entry) {
      entry = { count: 0, clients: undefined };
      byConfig.set(config, entry);
    }
    entry.count++;
    if (hasClient(entry, client)) return false;
    addClient(entry, client);
    this.order.push(route, config, client);
    // Bounded: past maxPairs the oldest pair is forgotten (and would be reported as new once more).
    if (this.order.length - this.orderHead > 3 * this.maxPairs) this.forgetOldest();
    return true;
  }

  private forgetOldest(): void {
    const head = this.orderHead;
    const route = this.order[head];
    const config = this.order[head + 1];
    const client = this.order[head + 2];
    this.orderHead += 3;
    const byConfig = route === undefined ? undefined : this.byRoute.get(route);
    const entry = config === undefined ? undefined : byConfig?.get(config);
    if (byConfig && entry && config !== undefined && client !== undefined) {
      deleteClient(entry, client);
      if (noClients(entry) && entry.count === 0) byConfig.delete(config);
    }
    // Compact once the forgotten head is as long as the live part.
    if (this.orderHead > 3 * 1024 && this.orderHead * 2 > this.order.length) {
      this.order.splice(0, this.orderHead);
      this.orderHead = 0;
    }
  }

  /** One summary per route with successes since the last drain; resets the counts. */
  drain(nowMs: number): SuccessSummary[] {
    const intervalSeconds = Math.round((nowMs - this.windowStartedAt) / 100) / 10;
    this.windowStartedAt = nowMs;
    const summaries: SuccessSummary[] = [];
    for (const [route, byConfig] of this.byRoute) {
      const counted: [string, number][] = [];
      for (const [config, entry] of byConfig) {
        if (entry.count > 0) counted.push([config, entry.count]);
        entry.count = 0;
        if (noClients(entry)) byConfig.delete(config);
      }
      if (counted.length === 0) continue;
      const sorted = counted.sort((a, b) => b[1] - a[1]);
      const kept = sorted.slice(0, this.maxConfigsPerSummary);
      summaries.push({
        route,
        intervalSeconds,
        total: sorted.reduce((sum, [, count]) => sum + count, 0),
        byConfig: Object.fromEntries(kept),
        otherConfigs: sorted.length - kept.length,
      });
    }
    return summaries;
  }
}
