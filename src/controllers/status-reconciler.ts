// Keeps each config's status true (leader only). Reconcile = read desired state from the index, compute the status,
// write only when it differs from what the API server has. Work is keyed: a config change reconciles that config
// (and the configs whose conflicts it may have changed); a Secret change reconciles exactly the configs that
// reference it; a full pass runs on becoming leader and periodically as a safety net.
import type { Condition } from "../api/index.ts";
import { diagnoseHttpBootConfig, diagnoseIpxeBootConfig } from "../boot/diagnose.ts";
import type { BootStore } from "../boot/store.ts";
import type { BootIndex } from "../index/boot-index.ts";
import type { KubeClient } from "../kube/client.ts";
import type { Logger } from "../observability/log.ts";
import type { KubeSource, WatchedKind } from "../sources/kube/kube-source.ts";
import { applyStatus, type ConfigKind, RECONCILER_FIELD_MANAGER } from "./apply.ts";
import { desiredStatus, statusUpToDate } from "./conditions.ts";
import type { EventRecorder } from "./events.ts";
import { KeyedWorkQueue } from "./work-queue.ts";

interface RawConfig {
  metadata?: { generation?: number; uid?: string };
  status?: { state?: string; conditions?: Condition[] };
}

export interface ReconcilerStats {
  reconciles: number;
  writes: number;
  errors: number;
}

function conflictParticipants(index: BootIndex): Set<string> {
  const keys = new Set<string>();
  for (const conflict of index.conflicts) for (const key of [conflict.winner, ...conflict.losers]) keys.add(`${conflict.kind}|${key}`);
  return keys;
}

export class StatusReconciler {
  readonly stats: ReconcilerStats = { reconciles: 0, writes: 0, errors: 0 };
  private readonly queue = new KeyedWorkQueue((item) => {
    const separator = item.indexOf("|");
    return this.reconcile(item.slice(0, separator) as ConfigKind, item.slice(separator + 1));
  });
  /** Items whose object the watch delivered but the index does not hold yet: retried when the next snapshot lands. */
  private readonly awaitingSnapshot = new Set<string>();
  private previousConflicts = new Set<string>();
  private resyncTimer: ReturnType<typeof setInterval> | undefined;
  private readonly retryCounts = new Map<string, number>();

  constructor(
    private readonly deps: { client: KubeClient; source: KubeSource; store: BootStore; log: Logger; events: EventRecorder; resyncIntervalMs?: number },
  ) {
    deps.store.onChange((store) => {
      for (const item of this.awaitingSnapshot) this.queue.add(item);
      this.awaitingSnapshot.clear();
      const now = conflictParticipants(store.index);
      for (const key of now) if (!this.previousConflicts.has(key)) this.queue.add(key);
      for (const key of this.previousConflicts) if (!now.has(key)) this.queue.add(key);
      this.previousConflicts = now;
      this.kick();
    });
  }

  /** Called for every validated object change from the watch. */
  notify(kind: WatchedKind, key: string, statusOnly = false): void {
    if (kind === "Secret") {
      // Dependents as of the current index; a config that starts referencing the secret arrives as its own change.
      for (const dependent of this.deps.store.index.configsBySecret.get(key) ?? []) this.queue.add(`${dependent.kind}|${dependent.key}`);
    } else this.queue.add(`${kind}|${key}`);
    // Processing waits for the store to apply the snapshot carrying this change (store.onChange → kick); a
    // status-only change brings no snapshot, and the index already matches, so it is processed now.
    if (statusOnly) this.kick();
  }

  start(): void {
    this.enqueueAll();
    this.queue.start();
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.deps.resyncIntervalMs ?? 10 * 60_000);
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.queue.stop();
  }

  private enqueueAll(): void {
    const index = this.deps.store.index;
    for (const key of index.ipxeByKey.keys()) this.queue.add(`IPXEBootConfig|${key}`);
    for (const key of index.httpByKey.keys()) this.queue.add(`HTTPBootConfig|${key}`);
    this.kick();
  }

  /** Up to four writes in flight: fast catch-up after a restart without hammering the API server. */
  private kick(): void {
    this.queue.kick();
  }

  private async reconcile(kind: ConfigKind, key: string): Promise<void> {
    const { store, source, client, log, events } = this.deps;
    const index = store.index;
    const raw = source.rawObject(kind, key) as RawConfig | undefined;
    const ipxe = kind === "IPXEBootConfig" ? index.ipxeByKey.get(key) : undefined;
    const http = kind === "HTTPBootConfig" ? index.httpByKey.get(key) : undefined;
    if (!raw) return; // deleted
    const diagnosis = ipxe ? diagnoseIpxeBootConfig(index, store, ipxe) : http ? diagnoseHttpBootConfig(index, store, http) : undefined;
    if (!diagnosis) {
      // Not in the index yet (its snapshot is still being coalesced), or invalid (retried on every snapshot, which
      // is cheap and picks it up once it is fixed). Either way: again after the next snapshot, never silently dropped.
      this.awaitingSnapshot.add(`${kind}|${key}`);
      return;
    }
    this.stats.reconciles++;
    const current = raw.status;
    const desired = desiredStatus(diagnosis, raw.metadata?.generation, current?.conditions ?? [], new Date());
    if (statusUpToDate(desired, current)) return;
    try {
      await applyStatus(client, kind, key, desired, RECONCILER_FIELD_MANAGER);
      this.stats.writes++;
      this.retryCounts.delete(`${kind}|${key}`);
      if (current?.state !== desired.state) {
        const [ready] = desired.conditions;
        log.info("config status changed", {
          config: `${kind} ${key}`,
          from: current?.state ?? "(none)",
          to: desired.state,
          reason: ready.reason,
          message: ready.message,
        });
        await events.record(
          kind,
          key,
          raw.metadata?.uid,
          desired.state === "Ready" ? "Normal" : "Warning",
          desired.state === "Ready" ? "BootConfigReady" : ready.reason,
          ready.message,
        );
      }
    } catch (error) {
      this.stats.errors++;
      const message = (error as Error).message;
      if (message.includes(" 404 ")) return; // deleted meanwhile
      const attempts = (this.retryCounts.get(`${kind}|${key}`) ?? 0) + 1;
      this.retryCounts.set(`${kind}|${key}`, attempts);
      const delay = Math.min(30_000, 250 * 2 ** attempts);
      log.warn("status write failed; retrying", { config: `${kind} ${key}`, error: message, retryInMs: delay });
      setTimeout(() => {
        this.queue.add(`${kind}|${key}`);
        this.kick();
      }, delay).unref?.();
    }
  }
}
