// Keeps each config's status true (leader only). Reconcile = plan the status from the index (status-plan.ts, pure),
// then apply it when it differs from what the API server has. Work is keyed: a config change reconciles that
// config (and the configs whose conflicts it may have changed); a Secret change reconciles exactly the configs that
// reference it; a full pass runs on becoming leader and periodically as a safety net. Failed writes are retried by
// the work queue with backoff.
import { diagnoseHttpBootConfig, diagnoseIpxeBootConfig } from "../boot/diagnose.ts";
import type { BootStore } from "../boot/store.ts";
import { type BootIndex, describeConflict } from "../index/boot-index.ts";
import { isNotFound, type KubeClient } from "../kube/client.ts";
import { cacheKeyOf } from "../kube/paths.ts";
import type { Logger } from "../observability/log.ts";
import type { KubeSource, WatchedKind } from "../sources/kube/kube-source.ts";
import { applyStatus, type ConfigRef, configRef, describeConfig, RECONCILER_FIELD_MANAGER } from "./apply.ts";
import type { EventRecorder } from "./events.ts";
import { planConfigStatus, type RawConfig } from "./status-plan.ts";
import { done, KeyedWorkQueue, type ReconcileResult } from "./work-queue.ts";

export interface ReconcilerStats {
  reconciles: number;
  writes: number;
  errors: number;
}

/** A status write that failed (API server away, throttled): first retry after 500 ms, at most every 30 s. */
export const STATUS_WRITE_BACKOFF = { base: 500, cap: 30_000, jitter: 0.25 };

function refId(ref: ConfigRef): string {
  return `${ref.kind}|${ref.namespace}/${ref.name}`;
}

/** Keyed by config and outcome: a conflict whose winner changes (a holder deleted, a role moved) re-reconciles all its claimants. */
function conflictParticipants(index: BootIndex): Map<string, ConfigRef> {
  const refs = new Map<string, ConfigRef>();
  for (const conflict of index.conflicts) {
    const outcome = describeConflict(conflict);
    for (const key of [conflict.winner, ...conflict.losers]) {
      const ref = configRef(conflict.kind, key);
      refs.set(`${refId(ref)}|${outcome}`, ref);
    }
  }
  return refs;
}

export class StatusReconciler {
  readonly stats: ReconcilerStats = { reconciles: 0, writes: 0, errors: 0 };
  private readonly queue: KeyedWorkQueue<ConfigRef>;
  /** Items whose object the watch delivered but the index does not hold yet: retried when the next snapshot lands. */
  private readonly awaitingSnapshot = new Map<string, ConfigRef>();
  private previousConflicts = new Map<string, ConfigRef>();
  private resyncTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly deps: { client: KubeClient; source: KubeSource; store: BootStore; log: Logger; events: EventRecorder; resyncIntervalMs?: number },
  ) {
    this.queue = new KeyedWorkQueue((ref) => this.reconcile(ref), {
      // Up to four writes in flight: fast catch-up after a restart without hammering the API server.
      concurrency: 4,
      backoff: STATUS_WRITE_BACKOFF,
      onError: (ref, error, retryInMs) => {
        this.stats.errors++;
        deps.log.warn("status write failed; retrying", { config: describeConfig(ref), error: error.message, retryInMs });
      },
    });
    deps.store.onChange((store) => {
      for (const ref of this.awaitingSnapshot.values()) this.queue.add(ref);
      this.awaitingSnapshot.clear();
      const now = conflictParticipants(store.index);
      for (const [id, ref] of now) if (!this.previousConflicts.has(id)) this.queue.add(ref);
      for (const [id, ref] of this.previousConflicts) if (!now.has(id)) this.queue.add(ref);
      this.previousConflicts = now;
      this.queue.kick();
    });
  }

  /** Called for every validated object change from the watch. */
  notify(kind: WatchedKind, key: string, statusOnly = false): void {
    if (kind === "Secret") {
      // Dependents as of the current index; a config that starts referencing the secret arrives as its own change.
      for (const dependent of this.deps.store.index.configsBySecret.get(key) ?? []) this.queue.add(configRef(dependent.kind, dependent.key));
    } else this.queue.add(configRef(kind, key));
    // Processing waits for the store to apply the snapshot carrying this change (store.onChange → kick); a
    // status-only change brings no snapshot, and the index already matches, so it is processed now.
    if (statusOnly) this.queue.kick();
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
    for (const key of index.ipxeByKey.keys()) this.queue.add(configRef("IPXEBootConfig", key));
    for (const key of index.httpByKey.keys()) this.queue.add(configRef("HTTPBootConfig", key));
    this.queue.kick();
  }

  private async reconcile(ref: ConfigRef): Promise<ReconcileResult> {
    const { store, source, client, log, events } = this.deps;
    const index = store.index;
    const key = cacheKeyOf(ref);
    const raw = source.rawObject(ref.kind, key) as RawConfig | undefined;
    if (!raw) return done; // deleted
    const ipxe = ref.kind === "IPXEBootConfig" ? index.ipxeByKey.get(key) : undefined;
    const http = ref.kind === "HTTPBootConfig" ? index.httpByKey.get(key) : undefined;
    const diagnosis = ipxe ? diagnoseIpxeBootConfig(index, store, ipxe) : http ? diagnoseHttpBootConfig(index, store, http) : undefined;
    const plan = planConfigStatus(raw, diagnosis, new Date());
    if (plan.action === "await-snapshot") {
      // Not in the index yet (its snapshot is still being coalesced), or invalid (retried on every snapshot, which
      // is cheap and picks it up once it is fixed). Either way: again after the next snapshot, never silently dropped.
      this.awaitingSnapshot.set(refId(ref), ref);
      return done;
    }
    this.stats.reconciles++;
    if (plan.action === "none") return done;
    try {
      await applyStatus(client, ref, plan.status, RECONCILER_FIELD_MANAGER);
    } catch (error) {
      if (isNotFound(error)) return done; // deleted meanwhile
      throw error;
    }
    this.stats.writes++;
    const transition = plan.transition;
    if (transition) {
      const { from, to, reason, message } = transition;
      log.info("config status changed", { config: describeConfig(ref), from, to, reason, message });
      await events.record(ref, raw.metadata?.uid, transition.eventType, transition.eventReason, message);
    }
    return done;
  }
}
