// Writes IPXEScriptFetched / IgnitionDataFetched after a machine fetched its script or Ignition. Asynchronous and
// coalesced: a response never waits for the API server, and a boot storm of N requests for one config becomes one
// write per flush interval. Runs on every replica; all replicas share one field manager and always apply the full
// set of *Fetched conditions they know of, so replicas never remove each other's condition.
import type { Condition } from "../api/index.ts";
import type { ServedEvent } from "../boot/served.ts";
import type { KubeClient } from "../kube/client.ts";
import type { Logger } from "../observability/log.ts";
import type { KubeSource } from "../sources/kube/kube-source.ts";
import { applyStatus, type ConfigKind, SERVED_FIELD_MANAGER } from "./apply.ts";
import { CONDITION_IGNITION_FETCHED, CONDITION_IPXE_SCRIPT_FETCHED, rfc3339Seconds, SERVED_CONDITIONS } from "./conditions.ts";

interface PendingFetch {
  client: string;
  at: Date;
}

export class ServedStatusWriter {
  readonly stats = { recorded: 0, writes: 0, errors: 0 };
  private pending = new Map<string, Map<string, PendingFetch>>();
  /** What was last written per object and condition type, to skip re-writing the same client's fetch too often. */
  private readonly written = new Map<string, PendingFetch>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      client: KubeClient;
      source: KubeSource;
      log: Logger;
      flushIntervalMs?: number;
      /** A machine fetching again (retries, boot loops, a storm) is re-recorded at most this often. */
      minRewriteIntervalMs?: number;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.deps.flushIntervalMs ?? 1_000);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Hot path: a Map update, nothing else. */
  record(event: ServedEvent): void {
    const type = event.milestone === "ipxe-script" ? CONDITION_IPXE_SCRIPT_FETCHED : event.milestone === "ignition" ? CONDITION_IGNITION_FETCHED : undefined;
    if (!type || !event.kind || !event.configKey) return;
    this.stats.recorded++;
    const objectKey = `${event.kind}|${event.configKey}`;
    let forObject = this.pending.get(objectKey);
    if (!forObject) {
      forObject = new Map();
      this.pending.set(objectKey, forObject);
    }
    forObject.set(type, { client: event.client, at: event.at });
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = (async () => {
      const minInterval = this.deps.minRewriteIntervalMs ?? 10_000;
      for (const [objectKey, allFetches] of batch) {
        const fetches = new Map(
          [...allFetches].filter(([type, fetch]) => {
            const last = this.written.get(`${objectKey}|${type}`);
            return !last || last.client !== fetch.client || fetch.at.getTime() - last.at.getTime() >= minInterval;
          }),
        );
        if (fetches.size === 0) continue;
        const [kind, key] = objectKey.split("|") as [ConfigKind, string];
        const raw = this.deps.source.rawObject(kind, key) as { metadata?: { generation?: number }; status?: { conditions?: Condition[] } } | undefined;
        if (!raw) {
          for (const type of SERVED_CONDITIONS) this.written.delete(`${objectKey}|${type}`); // deleted: forget it
          continue;
        }
        const generation = raw.metadata?.generation;
        // Start from what is already there for our condition types, so applying never drops one.
        const conditions = new Map<string, Condition>();
        for (const condition of raw.status?.conditions ?? []) {
          if ((SERVED_CONDITIONS as readonly string[]).includes(condition.type)) conditions.set(condition.type, condition);
        }
        for (const [type, fetch] of fetches) {
          conditions.set(type, {
            type,
            status: "True",
            reason: type === CONDITION_IPXE_SCRIPT_FETCHED ? "IPXEScriptServed" : "IgnitionDataServed",
            message: `${type === CONDITION_IPXE_SCRIPT_FETCHED ? "iPXE script" : "Ignition"} fetched by ${fetch.client || "unknown client"} at ${fetch.at.toISOString()}`,
            lastTransitionTime: rfc3339Seconds(fetch.at),
            ...(generation === undefined ? {} : { observedGeneration: generation }),
          });
        }
        try {
          await applyStatus(this.deps.client, kind, key, { conditions: [...conditions.values()] }, SERVED_FIELD_MANAGER);
          this.stats.writes++;
          for (const [type, fetch] of fetches) this.written.set(`${objectKey}|${type}`, fetch);
        } catch (error) {
          this.stats.errors++;
          this.deps.log.warn("could not record fetch in status", { config: `${kind} ${key}`, error: (error as Error).message });
          // Keep the newest information for the next flush unless newer fetches replaced it meanwhile.
          const again = this.pending.get(objectKey) ?? new Map<string, PendingFetch>();
          for (const [type, fetch] of fetches) if (!again.has(type)) again.set(type, fetch);
          this.pending.set(objectKey, again);
        }
      }
    })().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }
}
