// Writes IPXEScriptFetched / IgnitionDataFetched after a machine fetched its script or Ignition. Asynchronous and
// coalesced: a response never waits for the API server, and a boot storm of N requests for one config becomes one
// write per flush interval (the work queue's addAfter; a failed write is retried with the queue's backoff). Runs on
// every replica; all replicas share one field manager and always apply the full set of *Fetched conditions they
// know of, so replicas never remove each other's condition. Types, status and reasons are the Go operator's
// (IPXEScriptFetched/IPXEScriptDelivered, IgnitionDataFetched/IgnitionDataDelivered), and its message text starts
// ours, so alerts and dashboards built on them carry over; we add which client fetched and when.
import type { Condition } from "../api/index.ts";
import type { ServedEvent } from "../boot/served.ts";
import { isNotFound, type KubeClient } from "../kube/client.ts";
import { cacheKeyOf } from "../kube/paths.ts";
import type { Logger } from "../observability/log.ts";
import type { KubeSource } from "../sources/kube/kube-source.ts";
import { applyStatus, type ConfigRef, configRef, describeConfig, SERVED_FIELD_MANAGER } from "./apply.ts";
import {
  CONDITION_IGNITION_FETCHED,
  CONDITION_IPXE_SCRIPT_FETCHED,
  REASON_IGNITION_DELIVERED,
  REASON_IPXE_SCRIPT_DELIVERED,
  rfc3339Seconds,
  SERVED_CONDITIONS,
} from "./conditions.ts";
import { done, failed, KeyedWorkQueue, type ReconcileResult } from "./work-queue.ts";

interface PendingFetch {
  client: string;
  at: Date;
}

type FetchedType = typeof CONDITION_IPXE_SCRIPT_FETCHED | typeof CONDITION_IGNITION_FETCHED;

/** A write that failed: retried after 1 s, then less often, at most every 30 s; new fetches ride along. */
const SERVED_WRITE_BACKOFF = { base: 1_000, cap: 30_000, jitter: 0.25 };

interface RawConfig {
  metadata?: { generation?: number };
  status?: { conditions?: Condition[] };
}

/**
 * The *Fetched conditions to apply, pure: the ones already on the object (applying never drops one another replica
 * wrote) with the new fetches laid over them.
 */
export function fetchedConditions(
  existing: readonly Condition[],
  generation: number | undefined,
  fetches: ReadonlyMap<FetchedType, PendingFetch>,
): Condition[] {
  const conditions = new Map<string, Condition>();
  for (const condition of existing) {
    if ((SERVED_CONDITIONS as readonly string[]).includes(condition.type)) conditions.set(condition.type, condition);
  }
  for (const [type, fetch] of fetches) {
    const ipxe = type === CONDITION_IPXE_SCRIPT_FETCHED;
    const what = ipxe ? "IPXE script" : "Ignition data";
    conditions.set(type, {
      type,
      status: "True",
      reason: ipxe ? REASON_IPXE_SCRIPT_DELIVERED : REASON_IGNITION_DELIVERED,
      message: `${what} has been successfully delivered to the client ${fetch.client || "(address unknown)"} at ${fetch.at.toISOString()}.`,
      lastTransitionTime: rfc3339Seconds(fetch.at),
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    });
  }
  return [...conditions.values()];
}

/** Everything known about one object: what waits to be written and what was written last, per condition type. */
interface Slot {
  ref: ConfigRef;
  pending: Map<FetchedType, PendingFetch>;
  written: Map<FetchedType, PendingFetch>;
  /** Waiting for the next flush, or owned by the work queue (a write in flight or backing off). */
  queued: boolean;
}

export class ServedStatusWriter {
  readonly stats = { recorded: 0, writes: 0, errors: 0 };
  /** kind → namespace/name → slot. The index hands out the same key string per config, so lookups hash nothing new. */
  private readonly slots = new Map<string, Map<string, Slot>>();
  /** Slots with fetches that wait for the next flush. */
  private dirty: Slot[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly queue: KeyedWorkQueue<ConfigRef>;

  constructor(
    private readonly deps: {
      client: KubeClient;
      source: KubeSource;
      log: Logger;
      flushIntervalMs?: number;
      /** A machine fetching again (retries, boot loops, a storm) is re-recorded at most this often. */
      minRewriteIntervalMs?: number;
    },
  ) {
    this.queue = new KeyedWorkQueue((ref) => this.write(ref), {
      concurrency: 2,
      backoff: SERVED_WRITE_BACKOFF,
      onError: (ref, error, retryInMs) => {
        this.stats.errors++;
        deps.log.warn("could not record fetch in status", { config: describeConfig(ref), error: error.message, retryInMs });
      },
    });
  }

  start(): void {
    this.queue.start();
  }

  /** Writes what is still pending once, then stops. */
  async stop(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.dirty = [];
    await this.queue.stop();
    for (const forKind of this.slots.values()) {
      for (const slot of forKind.values()) {
        if (slot.pending.size === 0) continue;
        const result = await this.write(slot.ref);
        if (result.type === "error") {
          this.stats.errors++;
          this.deps.log.warn("could not record fetch in status", { config: describeConfig(slot.ref), error: result.error.message });
        }
      }
    }
  }

  /**
   * Hot path, O(1) and allocation-free for a repeat: two Map gets, and a fetch already written for the same client
   * within the rewrite interval is dropped here. New information marks the object for the next flush; one timer
   * per flush interval serves every object.
   */
  record(event: ServedEvent): void {
    const type = event.milestone === "ipxe-script" ? CONDITION_IPXE_SCRIPT_FETCHED : event.milestone === "ignition" ? CONDITION_IGNITION_FETCHED : undefined;
    if (!type || !event.kind || !event.configKey) return;
    this.stats.recorded++;
    let forKind = this.slots.get(event.kind);
    if (!forKind) {
      forKind = new Map();
      this.slots.set(event.kind, forKind);
    }
    let slot = forKind.get(event.configKey);
    if (!slot) {
      slot = { ref: configRef(event.kind, event.configKey), pending: new Map(), written: new Map(), queued: false };
      forKind.set(event.configKey, slot);
    }
    const last = slot.written.get(type);
    if (last && last.client === event.client && event.at.getTime() - last.at.getTime() < this.minRewriteIntervalMs()) return;
    slot.pending.set(type, { client: event.client, at: event.at });
    if (slot.queued) return;
    slot.queued = true;
    this.dirty.push(slot);
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), this.deps.flushIntervalMs ?? 1_000);
      // Pending fetches must not keep a stopping process alive; stop() writes them.
      this.flushTimer.unref?.();
    }
  }

  private minRewriteIntervalMs(): number {
    return this.deps.minRewriteIntervalMs ?? 10_000;
  }

  /** Hands every marked object to the work queue (bounded concurrency, backoff on failure). */
  private flush(): void {
    this.flushTimer = undefined;
    const ready = this.dirty;
    this.dirty = [];
    for (const slot of ready) this.queue.add(slot.ref);
    this.queue.kick();
  }

  private slotOf(ref: ConfigRef): Slot | undefined {
    return this.slots.get(ref.kind)?.get(cacheKeyOf(ref));
  }

  private async write(ref: ConfigRef): Promise<ReconcileResult> {
    const slot = this.slotOf(ref);
    if (!slot) return done;
    const allFetches = slot.pending;
    slot.pending = new Map();
    slot.queued = false;
    const minInterval = this.minRewriteIntervalMs();
    const fetches = new Map(
      [...allFetches].filter(([type, fetch]) => {
        const last = slot.written.get(type);
        return !last || last.client !== fetch.client || fetch.at.getTime() - last.at.getTime() >= minInterval;
      }),
    );
    if (fetches.size === 0) return done;
    const raw = this.deps.source.rawObject(ref.kind, cacheKeyOf(ref)) as RawConfig | undefined;
    if (!raw) {
      this.slots.get(ref.kind)?.delete(cacheKeyOf(ref)); // deleted: forget it
      return done;
    }
    const conditions = fetchedConditions(raw.status?.conditions ?? [], raw.metadata?.generation, fetches);
    try {
      await applyStatus(this.deps.client, ref, { conditions }, SERVED_FIELD_MANAGER);
    } catch (error) {
      if (isNotFound(error)) return done; // deleted meanwhile
      // Keep the newest information for the retry unless newer fetches replaced it meanwhile; the queue's backoff
      // retry carries it (and whatever arrives until then), so the slot stays owned by the queue.
      for (const [type, fetch] of fetches) if (!slot.pending.has(type)) slot.pending.set(type, fetch);
      slot.queued = true;
      return failed(error);
    }
    this.stats.writes++;
    for (const [type, fetch] of fetches) slot.written.set(type, fetch);
    return done;
  }
}
