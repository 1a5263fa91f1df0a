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
   * Clients remembered for this config: a repeat is two lookups, no key string built per request. One client (a
   * config is one machine's) is the string itself; a Set only from the second: a Set per config and route was
   * 10 000 of the heap's objects after one route's storm at 10 000 machines.
   */
  clients: string | Set<string> | undefined;
  /** The client seen last, compared before the set is hashed into: a machine repeating itself costs one compare. */
  lastClient: string | undefined;
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
  /** Remembered pairs in the order they were first seen, for forgetting the oldest past maxPairs. */
  private readonly order: { entry: ConfigEntry; byConfig: Map<string, ConfigEntry>; config: string; client: string }[] = [];
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
      entry = { count: 0, clients: undefined, lastClient: undefined };
      byConfig.set(config, entry);
    }
    entry.count++;
    if (entry.lastClient === client) return false;
    entry.lastClient = client;
    if (hasClient(entry, client)) return false;
    addClient(entry, client);
    this.order.push({ entry, byConfig, config, client });
    // Bounded: past maxPairs the oldest pair is forgotten (and would be reported as new once more).
    if (this.order.length - this.orderHead > this.maxPairs) this.forgetOldest();
    return true;
  }

  private forgetOldest(): void {
    const oldest = this.order[this.orderHead];
    this.orderHead++;
    if (oldest) {
      deleteClient(oldest.entry, oldest.client);
      if (oldest.entry.lastClient === oldest.client) oldest.entry.lastClient = undefined;
      if (noClients(oldest.entry) && oldest.entry.count === 0) oldest.byConfig.delete(oldest.config);
    }
    // Compact once the forgotten head is as long as the live part.
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
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
