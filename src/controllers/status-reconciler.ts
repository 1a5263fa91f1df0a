// Keeps each config's status true (leader only). Reconcile = plan the status from the index, or from the schema
// problems of a version that fails validation (status-plan.ts, pure), then apply it when it differs from what the
// API server has. Work is keyed: a config change reconciles that config (and the configs whose conflicts it may have
// changed); a Secret change reconciles exactly the configs that reference it; a full pass runs on becoming leader
// and periodically as a safety net. Failed writes are retried by the work queue with backoff. Another writer
// rewriting our status fields (status-fight.ts) is reported, and our writes to that object back off instead of
// answering each rewrite at once, so two controllers never turn one object into a write storm.
import { diagnoseHttpBootConfig, diagnoseIpxeBootConfig, diagnoseSwitchBootConfig } from "../boot/diagnose.ts";
import type { BootStore } from "../boot/store.ts";
import { type BootIndex, describeConflict } from "../index/boot-index.ts";
import { isNotFound, type KubeClient } from "../kube/client.ts";
import { cacheKeyOf } from "../kube/paths.ts";
import type { Logger } from "../observability/log.ts";
import type { KubeSource, WatchedKind } from "../sources/kube/kube-source.ts";
import type { StatusFieldOwner } from "../sources/kube/status-owners.ts";
import { applyStatus, type ConfigRef, configRef, describeConfig, RECONCILER_FIELD_MANAGER, SERVED_FIELD_MANAGER } from "./apply.ts";
import type { ReconcilerStatus } from "./conditions.ts";
import type { EventRecorder } from "./events.ts";
import { DEFAULT_FIGHT_OPTIONS, type FightOptions, fightMessage, ownedStatusFingerprint, rivalsOf, StatusFightTracker } from "./status-fight.ts";
import { planConfigStatus, type RawConfig } from "./status-plan.ts";
import { backOff, deferred, done, KeyedWorkQueue, type ReconcileResult } from "./work-queue.ts";

interface ReconcilerStats {
  reconciles: number;
  writes: number;
  errors: number;
  /** Rewrites of our fields by another field manager, and writes we held back because of them. */
  rivalRewrites: number;
  deferredWrites: number;
  /** Status-only changes that left our fields as last applied: not reconciled again. */
  echoes: number;
}

/** A status write that failed (API server away, throttled): first retry after 500 ms, at most every 30 s. */
const STATUS_WRITE_BACKOFF = { base: 500, cap: 30_000, jitter: 0.25 };

/**
 * Re-asserting a contested status: after 1 s, then less and less often, at least once a minute (so the status is
 * ours again within a minute of the other writer stopping, while a lasting fight costs one write a minute).
 */
const CONTESTED_WRITE_BACKOFF = { base: 1_000, cap: 60_000, jitter: 0.25 };

/** Writers that are this operator (the reconciler and the served-status writer of every replica). */
const OWN_FIELD_MANAGERS: ReadonlySet<string> = new Set([RECONCILER_FIELD_MANAGER, SERVED_FIELD_MANAGER]);

/** 52 bits of the fingerprint's hash: a number, held in the map as is (a 64-bit bigint was a heap cell per config). */
function fingerprintHash(status: ReconcilerStatus | RawConfig["status"]): number {
  return Number(BigInt(Bun.hash(ownedStatusFingerprint(status))) & 0xf_ffff_ffff_ffffn);
}

function refId(ref: ConfigRef): string {
  return `${ref.kind}|${ref.namespace}/${ref.name}`;
}

/**
 * Keyed by config, outcome and the config's own translator role: a conflict whose winner changes (a holder deleted,
 * a role moved) re-reconciles all its claimants, and so does a loser becoming the translator's standby config. The
 * outcome does not say that (the winner is the active config either way), yet it turns the loser's IdentifierConflict
 * into Standby; when the Server's change reached the cache after the child's annotation, the loser stayed an error.
 */
export function conflictParticipants(index: BootIndex): Map<string, ConfigRef> {
  const refs = new Map<string, ConfigRef>();
  for (const conflict of index.conflicts) {
    const outcome = describeConflict(conflict);
    for (const key of [conflict.winner, ...conflict.losers]) {
      const ref = configRef(conflict.kind, key);
      refs.set(`${refId(ref)}|${outcome}|${index.translatorRole(conflict.kind, key) ?? ""}`, ref);
    }
  }
  return refs;
}

export class StatusReconciler {
  readonly stats: ReconcilerStats = { reconciles: 0, writes: 0, errors: 0, rivalRewrites: 0, deferredWrites: 0, echoes: 0 };
  private readonly queue: KeyedWorkQueue<ConfigRef>;
  /**
   * Per object, a hash of our fields as we last applied (or found) them: an event showing otherwise is a rewrite.
   * Hashed: one entry per config on the leader, so it stays a few bytes each.
   */
  private readonly lastApplied = new Map<string, number>();
  private readonly fights: StatusFightTracker;
  private readonly fightOptions: FightOptions;
  private running = false;
  /** Items whose object the watch delivered but the index does not hold yet: retried when the next snapshot lands. */
  private readonly awaitingSnapshot = new Map<string, ConfigRef>();
  private previousConflicts = new Map<string, ConfigRef>();
  private resyncTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly deps: {
      client: KubeClient;
      source: KubeSource;
      store: BootStore;
      log: Logger;
      events: EventRecorder;
      resyncIntervalMs?: number;
      fightOptions?: FightOptions;
    },
  ) {
    this.fightOptions = deps.fightOptions ?? DEFAULT_FIGHT_OPTIONS;
    this.fights = new StatusFightTracker(this.fightOptions);
    this.queue = new KeyedWorkQueue((ref) => this.reconcile(ref), {
      // Up to 32 writes in flight: at the API server's ~8 ms per status write four in flight capped start-up at
      // ~500 writes/s (42 s for 10 000 machines); the client's token bucket (--kube-api-qps) is what bounds the rate.
      concurrency: 32,
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

  /** Whether statuses are waiting to be reconciled or being written (not counting ones backing off). */
  get busy(): boolean {
    return this.queue.busy;
  }

  /** Called for every validated object change from the watch, with who owns which status fields of that version. */
  notify(kind: WatchedKind, key: string, statusOnly = false, statusOwners: readonly StatusFieldOwner[] = []): void {
    if (kind !== "Secret" && statusOwners.length > 0) this.observeStatusWriters(configRef(kind, key), statusOwners);
    // The echo of a status write (the served-status writer's, ours, another replica's) that left our fields as we
    // last applied or found them: reconciling it would plan "nothing to do" again. Every fetch recorded in status
    // comes back this way; in a storm that was a diagnosis and a plan per write, 10 % of the main thread's samples.
    if (statusOnly && kind !== "Secret" && this.holdsAsApplied(kind, key)) {
      this.stats.echoes++;
      return;
    }
    if (kind === "Secret") {
      // Dependents as of the current index; a config that starts referencing the secret arrives as its own change.
      for (const dependent of this.deps.store.index.configsBySecret.get(key) ?? []) this.queue.add(configRef(dependent.kind, dependent.key));
    } else this.queue.add(configRef(kind, key));
    // Processing waits for the store to apply the snapshot carrying this change (store.onChange → kick); a
    // status-only change brings no snapshot, and the index already matches, so it is processed now.
    if (statusOnly) this.queue.kick();
  }

  /** Our fields on the cached object say what we last applied (or found right); a config never written says no. */
  private holdsAsApplied(kind: Exclude<WatchedKind, "Secret">, key: string): boolean {
    if (!this.running) return false;
    const applied = this.lastApplied.get(refId(configRef(kind, key)));
    if (applied === undefined) return false;
    const raw = this.deps.source.rawObject(kind, key) as RawConfig | undefined;
    return raw !== undefined && fingerprintHash(raw.status) === applied;
  }

  start(): void {
    this.running = true;
    this.enqueueAll();
    this.queue.start();
    this.resyncTimer = setInterval(
      () => {
        this.fights.prune(Date.now());
        this.enqueueAll();
      },
      this.deps.resyncIntervalMs ?? 10 * 60_000,
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.resyncTimer);
    await this.queue.stop();
    // A replica that is not leading writes nothing, so it has nothing to defend; a new term starts afresh.
    this.lastApplied.clear();
    this.fights.clear();
  }

  private enqueueAll(): void {
    const { store, source } = this.deps;
    const index = store.index;
    for (const key of index.ipxeByKey.keys()) this.queue.add(configRef("IPXEBootConfig", key));
    for (const key of index.httpByKey.keys()) this.queue.add(configRef("HTTPBootConfig", key));
    for (const key of index.switchByKey.keys()) this.queue.add(configRef("SwitchBootConfig", key));
    // Invalid versions are not in the index, but their status must still say so.
    for (const kind of ["IPXEBootConfig", "HTTPBootConfig", "SwitchBootConfig"] as const)
      for (const key of source.invalidKeys(kind)) this.queue.add(configRef(kind, key));
    this.queue.kick();
  }

  /**
   * A watch event for a config we have written: if another manager now owns some of our fields and they no longer
   * say what we applied, someone rewrote them. Counted per object; a repeated rewrite is a fight, logged at most every
   * few minutes and recorded as one Warning Event per fight.
   */
  private observeStatusWriters(ref: ConfigRef, owners: readonly StatusFieldOwner[]): void {
    if (!this.running) return;
    const id = refId(ref);
    const applied = this.lastApplied.get(id);
    if (applied === undefined) return; // never written by us (yet): nothing to defend
    const rivals = rivalsOf(owners, OWN_FIELD_MANAGERS);
    if (rivals.length === 0) return;
    const raw = this.deps.source.rawObject(ref.kind, cacheKeyOf(ref)) as RawConfig | undefined;
    if (!raw || fingerprintHash(raw.status) === applied) return; // co-owned, same values: no harm
    this.stats.rivalRewrites++;
    const observation = this.fights.observe(id, rivals, Date.now());
    if (!observation.log && !observation.event) return;
    const message = fightMessage(observation, rivals, this.fightOptions.windowMs);
    if (observation.log) {
      this.deps.log.warn("status fight: another field manager keeps rewriting this config's status", {
        config: describeConfig(ref),
        managers: observation.managers,
        rewrites: observation.rewrites,
        fields: [...new Set(rivals.flatMap((rival) => rival.fields))],
      });
    }
    if (observation.event) void this.deps.events.record(ref, raw.metadata?.uid, "Warning", "StatusFightDetected", message);
  }

  private async reconcile(ref: ConfigRef): Promise<ReconcileResult> {
    const { store, source, client, log, events } = this.deps;
    const key = cacheKeyOf(ref);
    // A Butane secret still translating on a worker: write its verdict, not "still being translated".
    if (ref.kind !== "SwitchBootConfig") await store.settle(ref.kind, key);
    const index = store.index;
    const id = refId(ref);
    const raw = source.rawObject(ref.kind, key) as RawConfig | undefined;
    if (!raw) {
      this.lastApplied.delete(id);
      this.fights.forget(id);
      return done; // deleted
    }
    const ipxe = ref.kind === "IPXEBootConfig" ? index.ipxeByKey.get(key) : undefined;
    const http = ref.kind === "HTTPBootConfig" ? index.httpByKey.get(key) : undefined;
    const switchConfig = ref.kind === "SwitchBootConfig" ? index.switchByKey.get(key) : undefined;
    const diagnosis = ipxe
      ? diagnoseIpxeBootConfig(index, store, ipxe)
      : http
        ? diagnoseHttpBootConfig(index, store, http)
        : switchConfig
          ? diagnoseSwitchBootConfig(index, store.ztp, switchConfig)
          : undefined;
    const plan = planConfigStatus(raw, diagnosis, new Date(), source.invalidSpec(ref.kind, key));
    if (plan.action === "await-snapshot") {
      // Not in the index yet: its snapshot is still being coalesced. Again after the next snapshot, never dropped.
      this.awaitingSnapshot.set(id, ref);
      return done;
    }
    this.stats.reconciles++;
    const contested = this.fights.contested(id, Date.now());
    if (contested && this.queue.scheduled(ref)) {
      // Another writer keeps rewriting it and our backed-off re-assertion is already scheduled: answering every
      // rewrite at once is what turns two controllers into a write storm. (Our own write's echo lands here too, and
      // must not reset the backoff either.)
      if (plan.action === "write") this.stats.deferredWrites++;
      return deferred;
    }
    if (plan.action === "none") {
      // What is there is what we would write: defend it from here on.
      this.remember(id, raw.status);
      return done;
    }
    try {
      await applyStatus(client, ref, plan.status, RECONCILER_FIELD_MANAGER);
    } catch (error) {
      if (isNotFound(error)) return done; // deleted meanwhile
      throw error;
    }
    this.stats.writes++;
    this.remember(id, plan.status);
    const transition = plan.transition;
    // While contested, every write "changes" the state back; the fight's own Event tells that story once.
    if (transition && !contested) {
      const { from, to, reason, message } = transition;
      log.info("config status changed", { config: describeConfig(ref), from, to, reason, message });
      // Not awaited: the recorder writes a few at a time, and this config's status must not wait for its Event.
      void events.record(ref, raw.metadata?.uid, transition.eventType, transition.eventReason, message);
    }
    // Contested: look again after the key's backoff (growing while the fight lasts, reset once it is over).
    return contested ? backOff(CONTESTED_WRITE_BACKOFF) : done;
  }

  private remember(id: string, status: ReconcilerStatus | RawConfig["status"]): void {
    this.lastApplied.set(id, fingerprintHash(status));
  }
}
