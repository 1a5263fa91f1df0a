// Writes IPXEScriptFetched / IgnitionDataFetched after a machine fetched its script or Ignition. Asynchronous and
// coalesced: a response never waits for the API server, and a boot storm of N requests for one config becomes one
// write per flush interval (the work queue's addAfter; a failed write is retried with the queue's backoff). Runs on
// every replica; all replicas share one field manager and always apply the full set of *Fetched conditions they
// know of, so replicas never remove each other's condition. Types, status and reasons are the Go operator's
// (IPXEScriptFetched/IPXEScriptDelivered, IgnitionDataFetched/IgnitionDataDelivered), and its message text starts
// ours, so alerts and dashboards built on them carry over; we add which client fetched and when.
// It also writes the boot timeline (status.lastBoot, merged with what status already holds, so replicas that each
// served part of a boot complete one another) and BootProgressing. A boot's burst of milestones (script, kernel,
// initrd within seconds) is one write: a write waits until no milestone came for a flush interval (at most
// MAX_COALESCE_MS), so a boot costs about two writes, the burst and Ignition. A boot still in progress is looked
// at again when it would stall, and a stall is written as BootProgressing=False (reason StalledAfter<Milestone>)
// with a Warning Event.
// Writes yield to serving: while the process is saturated answering machines (a boot storm), news waits, at most
// MAX_YIELD_MS from its first fetch, and goes out when the storm is over. Each write costs this process 130-340 µs of
// CPU (Bun's fetch client wakes its HTTP thread per request) and the API server ~5-8 ms; at 10 000 machines the
// storm's writes made a boot request cost twice what it costs in directory mode.
import type { Condition } from "../api/index.ts";
import {
  type BootProgress,
  type BootTimelines,
  bootFromStatus,
  bootProgress,
  type ConfigTimeline,
  lastBootStatus,
  mergeBoots,
  stalledReason,
} from "../boot/boot-timeline.ts";
import type { ServedEvent } from "../boot/served.ts";
import { isNotFound, type KubeClient } from "../kube/client.ts";
import { cacheKeyOf } from "../kube/paths.ts";
import type { Logger } from "../observability/log.ts";
import type { KubeSource } from "../sources/kube/kube-source.ts";
import { applyStatus, type ConfigRef, configRef, describeConfig, SERVED_FIELD_MANAGER } from "./apply.ts";
import {
  CONDITION_BOOT_PROGRESSING,
  CONDITION_IGNITION_FETCHED,
  CONDITION_IPXE_SCRIPT_FETCHED,
  CONDITION_ONIE_INSTALLER_FETCHED,
  CONDITION_PROVISIONING_SCRIPT_FETCHED,
  CONDITION_ZTP_CONFIG_FETCHED,
  conditionMatches,
  REASON_IGNITION_DELIVERED,
  REASON_IPXE_SCRIPT_DELIVERED,
  rfc3339Seconds,
  SERVED_CONDITIONS,
  withTransitionTime,
} from "./conditions.ts";
import type { EventRecorder } from "./events.ts";
import { done, failed, KeyedWorkQueue, type ReconcileResult, requeueAfter } from "./work-queue.ts";

interface PendingFetch {
  client: string;
  /** Epoch ms: a number in the slot, not the event's Date (one object fewer per config and condition). */
  at: number;
  /** Switches: the ZTP protocol and what the client reported ("ONIE-VERSION 2019.11, …"). */
  reported?: string;
}

/** The conditions a fetch sets; BootProgressing is derived from the timeline instead. */
type FetchedType = Exclude<(typeof SERVED_CONDITIONS)[number], typeof CONDITION_BOOT_PROGRESSING>;

/**
 * A config's fetches by condition type (one or two of them per kind): a plain object, not a Map. Two Maps per
 * config were 20 000 of the heap's objects after a storm at 10 000 machines, ~4 MiB.
 */
type FetchesByType = Partial<Record<FetchedType, PendingFetch>>;

/** `fetches` under a copy of `newer`: where both hold a type, `newer`'s fetch stays. */
function underlay(newer: FetchesByType | undefined, fetches: readonly (readonly [FetchedType, PendingFetch])[]): FetchesByType {
  const merged: FetchesByType = { ...newer };
  for (const [type, fetch] of fetches) merged[type] ??= fetch;
  return merged;
}

function fetchEntries(fetches: FetchesByType | undefined): [FetchedType, PendingFetch][] {
  const entries: [FetchedType, PendingFetch][] = [];
  if (!fetches) return entries;
  for (const type in fetches) {
    const fetch = fetches[type as FetchedType];
    if (fetch) entries.push([type as FetchedType, fetch]);
  }
  return entries;
}

/** What each *Fetched condition says was delivered, and its reason (the server kinds' are the Go operator's). */
const FETCHED: Record<FetchedType, { what: string; reason: string }> = {
  [CONDITION_IPXE_SCRIPT_FETCHED]: { what: "IPXE script", reason: REASON_IPXE_SCRIPT_DELIVERED },
  [CONDITION_IGNITION_FETCHED]: { what: "Ignition data", reason: REASON_IGNITION_DELIVERED },
  [CONDITION_ONIE_INSTALLER_FETCHED]: { what: "ONIE installer", reason: "ONIEInstallerDelivered" },
  [CONDITION_ZTP_CONFIG_FETCHED]: { what: "ZTP config", reason: "ZTPConfigDelivered" },
  [CONDITION_PROVISIONING_SCRIPT_FETCHED]: { what: "Provisioning script", reason: "ProvisioningScriptDelivered" },
};

const MILESTONE_CONDITIONS: Partial<Record<ServedEvent["milestone"], FetchedType>> = {
  "ipxe-script": CONDITION_IPXE_SCRIPT_FETCHED,
  ignition: CONDITION_IGNITION_FETCHED,
  "ztp-onie-installer": CONDITION_ONIE_INSTALLER_FETCHED,
  "ztp-onie-updater": CONDITION_ONIE_INSTALLER_FETCHED,
  "ztp-config": CONDITION_ZTP_CONFIG_FETCHED,
  "ztp-script": CONDITION_PROVISIONING_SCRIPT_FETCHED,
};

/** "protocol sonic, SONiC-VERSION SONiC.202311.1, …": bounded, the values already made safe by the ZTP family. */
function describeReported(ztp: NonNullable<ServedEvent["ztp"]>): string {
  const text = [`protocol ${ztp.protocol}`, ...Object.entries(ztp.reported).map(([name, value]) => `${name} ${value}`)].join(", ");
  return text.length > 1024 ? `${text.slice(0, 1023)}…` : text;
}

/** A write that failed: retried after 1 s, then less often, at most every 30 s; new fetches ride along. */
const SERVED_WRITE_BACKOFF = { base: 1_000, cap: 30_000, jitter: 0.25 };

interface RawConfig {
  metadata?: { generation?: number; uid?: string };
  spec?: { ignitionSecretRef?: { name?: string } };
  status?: { conditions?: Condition[]; lastBoot?: unknown };
}

/** A burst of milestones is written at the latest this long after its first one, once serving leaves room. */
const MAX_COALESCE_MS = 10_000;
/** News waits for a saturated process at most this long after its first fetch (a storm longer than this writes). */
export const MAX_YIELD_MS = 60_000;
const DEFAULT_STALL_AFTER_MS = 10 * 60_000;
/** Status writes in flight at once while stopping (the work queue's 2 would take minutes after a storm). */
const FINAL_WRITES_AT_ONCE = 16;

/** Resolves when `work` settles or `ms` have passed, whichever is first (a hung API server must not hold a stop). */
async function untilDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  if (ms <= 0) return;
  if (!Number.isFinite(ms)) {
    await work;
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([work.then(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** BootProgressing for where the last boot stands, pure (lastTransitionTime is added by the caller). */
export function bootProgressingCondition(progress: BootProgress, generation: number | undefined): Omit<Condition, "lastTransitionTime"> {
  const last = progress.lastMilestone;
  const what = `${last.name} served to ${last.requester || "(address unknown)"} at ${new Date(last.at).toISOString()}`;
  const generationField = generation === undefined ? {} : { observedGeneration: generation };
  if (progress.state === "Booting")
    return { type: CONDITION_BOOT_PROGRESSING, status: "True", reason: "Booting", message: `last milestone: ${what}`, ...generationField };
  if (progress.state === "Completed") {
    return { type: CONDITION_BOOT_PROGRESSING, status: "False", reason: "BootCompleted", message: `boot completed: ${what}`, ...generationField };
  }
  return {
    type: CONDITION_BOOT_PROGRESSING,
    status: "False",
    reason: stalledReason(last.name),
    message: `stalled after ${last.name}: ${what}, nothing since`,
    ...generationField,
  };
}

/**
 * The *Fetched conditions to apply, pure: the ones already on the object (applying never drops one another replica
 * wrote) with the new fetches laid over them.
 */
export function fetchedConditions(
  existing: readonly Condition[],
  generation: number | undefined,
  fetches: readonly (readonly [FetchedType, PendingFetch])[],
): Condition[] {
  const conditions = new Map<string, Condition>();
  for (const condition of existing) {
    if ((SERVED_CONDITIONS as readonly string[]).includes(condition.type)) conditions.set(condition.type, condition);
  }
  for (const [type, fetch] of fetches) {
    const { what, reason } = FETCHED[type];
    const reported = fetch.reported ? ` It reported ${fetch.reported}.` : "";
    const at = new Date(fetch.at);
    conditions.set(type, {
      type,
      status: "True",
      reason,
      message: `${what} has been successfully delivered to the client ${fetch.client || "(address unknown)"} at ${at.toISOString()}.${reported}`,
      lastTransitionTime: rfc3339Seconds(at),
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    });
  }
  return [...conditions.values()];
}

/** Everything known about one object: what waits to be written and what was written last, per condition type. */
interface Slot {
  ref: ConfigRef;
  /** Undefined when nothing waits (most configs, most of the time). */
  pending: FetchesByType | undefined;
  written: FetchesByType | undefined;
  /** Waiting for the next flush, or owned by the work queue (a write in flight or backing off). */
  queued: boolean;
  /** When the first and the latest news of the current burst were recorded (ms). */
  firstAt: number;
  lastAt: number;
}

export class ServedStatusWriter {
  readonly stats = { recorded: 0, writes: 0, errors: 0 };
  /** kind → namespace/name → slot. The index hands out the same key string per config, so lookups hash nothing new. */
  private readonly slots = new Map<string, Map<string, Slot>>();
  /** Slots with news that wait for the next flush. */
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
      /** Told how long each status write took and how it ended (the write latency metric). */
      onWrite?: (seconds: number, result: "success" | "error") => void;
      /** The boot timelines serve records into; without them only the *Fetched conditions are written. */
      timelines?: BootTimelines;
      /** --boot-stall-timeout in ms. */
      stallAfterMs?: number;
      /** Warning Events for stalled boots. */
      events?: EventRecorder;
      /** True while serving saturates the process (CpuLoad.saturated): writes wait, up to MAX_YIELD_MS. */
      saturated?: () => boolean;
      now?: () => number;
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

  /** Configs with news not written yet: the status write backlog (counted when scraped, not per request). */
  get backlog(): number {
    let count = 0;
    for (const forKind of this.slots.values()) for (const slot of forKind.values()) if (slot.queued) count++;
    return count;
  }

  /**
   * Writes what is still pending once, then stops; by `deadlineMs` (epoch ms) at the latest. After a storm every
   * config can have news, and one write after another took 67 s at 10 000 machines, past any grace period (a
   * Kubernetes pod is killed after 30 s, and the writes with it). So the last writes run FINAL_WRITES_AT_ONCE at a
   * time, no new one starts past the deadline, and what is left is counted in one log line: a fetch not recorded
   * costs a condition's timestamp, never a boot.
   */
  async stop(deadlineMs = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.dirty = [];
    const timeLeft = (): number => deadlineMs - this.now();
    await untilDeadline(this.queue.stop(), timeLeft());
    const left: Slot[] = [];
    for (const forKind of this.slots.values()) for (const slot of forKind.values()) if (slot.pending || slot.queued) left.push(slot);
    let next = 0;
    let written = 0;
    const writeNext = async (): Promise<void> => {
      while (next < left.length && timeLeft() > 0) {
        const slot = left[next++];
        if (!slot) return;
        const result = await this.write(slot.ref, true);
        if (result.type === "error") {
          this.stats.errors++;
          this.deps.log.warn("could not record fetch in status", { config: describeConfig(slot.ref), error: result.error.message });
        } else written++;
      }
    };
    await untilDeadline(Promise.all(Array.from({ length: FINAL_WRITES_AT_ONCE }, writeNext)), timeLeft());
    if (timeLeft() <= 0 && written < left.length) {
      this.deps.log.warn("shutdown deadline reached: fetches left unrecorded in status", { configs: left.length - written, written });
    }
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /**
   * Hot path, O(1) and allocation-free for a repeat: a few Map gets, and a fetch already written or waiting to be
   * written for the same client within the rewrite interval is dropped here. New information (a fetch, or a
   * milestone that changed `timeline`) marks the object for the next flush; one timer per flush interval serves
   * every object.
   */
  record(event: ServedEvent, timeline?: ConfigTimeline): void {
    const type = MILESTONE_CONDITIONS[event.milestone];
    const kind = event.kind && event.configKey ? event.kind : timeline?.kind;
    const key = event.kind && event.configKey ? event.configKey : timeline?.key;
    if ((!type && !timeline) || !kind || !key) return;
    this.stats.recorded++;
    let forKind = this.slots.get(kind);
    if (!forKind) {
      forKind = new Map();
      this.slots.set(kind, forKind);
    }
    let slot = forKind.get(key);
    if (!slot) {
      slot = { ref: configRef(kind, key), pending: undefined, written: undefined, queued: false, firstAt: 0, lastAt: 0 };
      forKind.set(key, slot);
    }
    let news = timeline !== undefined;
    if (type) {
      // A repeat of what is already waiting counts as one too: in a storm every machine asks again before its first
      // write, and each ask extended the burst (the write waited for a quiet second) and re-queued the config.
      const last = slot.pending?.[type] ?? slot.written?.[type];
      const at = event.at.getTime();
      const repeat = last !== undefined && last.client === event.client && at - last.at < this.minRewriteIntervalMs();
      if (!repeat) {
        slot.pending ??= {};
        slot.pending[type] = { client: event.client, at, ...(event.ztp ? { reported: describeReported(event.ztp) } : {}) };
        news = true;
      }
    }
    if (!news) return;
    const now = this.now();
    slot.lastAt = now;
    if (slot.queued) return;
    slot.firstAt = now;
    slot.queued = true;
    this.dirty.push(slot);
    this.armFlush();
  }

  private minRewriteIntervalMs(): number {
    return this.deps.minRewriteIntervalMs ?? 10_000;
  }

  /**
   * Hands every marked object to the work queue (bounded concurrency, backoff on failure); while serving saturates
   * the process, only those whose news has waited MAX_YIELD_MS, and the rest at a later flush.
   */
  private flush(): void {
    this.flushTimer = undefined;
    const marked = this.dirty;
    this.dirty = [];
    const now = this.now();
    for (const slot of marked) {
      if (this.yields(slot, now)) this.dirty.push(slot);
      else this.queue.add(slot.ref);
    }
    this.queue.kick();
    if (this.dirty.length > 0) this.armFlush();
  }

  /** Whether the slot's news waits for now: serving saturates the process and it has not waited MAX_YIELD_MS yet. */
  private yields(slot: Slot, now: number): boolean {
    return now - slot.firstAt < MAX_YIELD_MS && (this.deps.saturated?.() ?? false);
  }

  private armFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => this.flush(), this.deps.flushIntervalMs ?? 1_000);
    // Pending fetches must not keep a stopping process alive; stop() writes them.
    this.flushTimer.unref?.();
  }

  private slotOf(ref: ConfigRef): Slot | undefined {
    return this.slots.get(ref.kind)?.get(cacheKeyOf(ref));
  }

  /** `flushNow`: on stop, write what is pending even in the middle of a burst. */
  private async write(ref: ConfigRef, flushNow = false): Promise<ReconcileResult> {
    const slot = this.slotOf(ref);
    if (!slot) return done;
    const now = this.now();
    const flushMs = this.deps.flushIntervalMs ?? 1_000;
    // Still in a burst (a boot makes ~5 milestones within seconds): wait until it is quiet, bounded, so it is one write.
    if (!flushNow && slot.queued && now - slot.lastAt < flushMs && now - slot.firstAt < MAX_COALESCE_MS) {
      return requeueAfter(flushMs - (now - slot.lastAt));
    }
    // Queued before a storm began (a coalescing burst, the previous storm's drain): back to the marked list, which
    // costs nothing per flush while the storm lasts, instead of a timer per config per second in the queue.
    if (!flushNow && slot.queued && this.yields(slot, now)) {
      this.dirty.push(slot);
      this.armFlush();
      return done;
    }
    const allFetches = slot.pending;
    slot.pending = undefined;
    slot.queued = false;
    const minInterval = this.minRewriteIntervalMs();
    const fetches = fetchEntries(allFetches).filter(([type, fetch]) => {
      const last = slot.written?.[type];
      return !last || last.client !== fetch.client || fetch.at - last.at >= minInterval;
    });
    const raw = this.deps.source.rawObject(ref.kind, cacheKeyOf(ref)) as RawConfig | undefined;
    if (!raw) {
      this.slots.get(ref.kind)?.delete(cacheKeyOf(ref)); // deleted: forget it
      return done;
    }
    const existing = raw.status?.conditions ?? [];
    const generation = raw.metadata?.generation;
    const conditions = fetchedConditions(existing, generation, fetches);
    // The timeline: this replica's view merged with what status holds (another replica may have served part of it).
    const stored = bootFromStatus(raw.status?.lastBoot);
    const timelineKind = ref.kind === "SwitchBootConfig" ? undefined : ref.kind;
    const boot = this.deps.timelines && timelineKind ? mergeBoots(stored, this.deps.timelines.get(timelineKind, cacheKeyOf(ref))?.boot) : undefined;
    const lastBoot = boot ? lastBootStatus(boot) : undefined;
    const storedShape = stored ? lastBootStatus(stored) : undefined;
    const lastBootChanged = lastBoot !== undefined && JSON.stringify(lastBoot) !== JSON.stringify(storedShape);
    const progress = boot
      ? bootProgress(boot, now, { stallAfterMs: this.deps.stallAfterMs ?? DEFAULT_STALL_AFTER_MS, expectsIgnition: Boolean(raw.spec?.ignitionSecretRef?.name) })
      : undefined;
    const before = existing.find((condition) => condition.type === CONDITION_BOOT_PROGRESSING);
    let progressChanged = false;
    if (progress) {
      const wanted = withTransitionTime(bootProgressingCondition(progress, generation), existing, new Date(now));
      progressChanged = !conditionMatches(wanted, before);
      const at = conditions.findIndex((condition) => condition.type === CONDITION_BOOT_PROGRESSING);
      if (at >= 0) conditions[at] = wanted;
      else conditions.push(wanted);
    }
    if (fetches.length > 0 || lastBootChanged || progressChanged) {
      // lastBoot is always applied once known: leaving it out would make server-side apply remove it.
      const shownBoot = lastBoot ?? storedShape;
      // Counted as written while the write is in flight: a machine asking again meanwhile repeats it (same client,
      // within the rewrite interval). With nothing pending and nothing written yet, each such ask was news, and a
      // machine asking every 100 ms got a second write a second later. Put back if the write fails.
      // A new object, so the one before stays as it was for putting back.
      const writtenBefore = slot.written;
      const written: FetchesByType = { ...writtenBefore };
      for (const [type, fetch] of fetches) written[type] = fetch;
      slot.written = written;
      const started = performance.now();
      try {
        await applyStatus(this.deps.client, ref, { conditions, ...(shownBoot ? { lastBoot: shownBoot } : {}) }, SERVED_FIELD_MANAGER);
        this.deps.onWrite?.((performance.now() - started) / 1000, "success");
      } catch (error) {
        this.deps.onWrite?.((performance.now() - started) / 1000, "error");
        slot.written = writtenBefore;
        if (isNotFound(error)) return done; // deleted meanwhile
        // Keep the newest information for the retry unless newer fetches replaced it meanwhile; the queue's backoff
        // retry carries it (and whatever arrives until then), so the slot stays owned by the queue.
        slot.pending = underlay(slot.pending, fetches);
        slot.queued = true;
        slot.firstAt = 0; // a retry writes at once, it does not wait for a new quiet second
        return failed(error);
      }
      this.stats.writes++;
      if (progress?.state === "Stalled" && progressChanged && this.deps.events) {
        const condition = bootProgressingCondition(progress, generation);
        void this.deps.events.record(ref, raw.metadata?.uid, "Warning", condition.reason, condition.message);
      }
    }
    // Looked at again when it would stall (a new milestone before then schedules an earlier write anyway).
    if (progress?.state === "Booting" && progress.stallsAt) return requeueAfter(Math.max(1, progress.stallsAt - now + 1));
    return done;
  }
}
