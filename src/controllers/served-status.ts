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
  at: Date;
  /** Switches: the ZTP protocol and what the client reported ("ONIE-VERSION 2019.11, …"). */
  reported?: string;
}

/** The conditions a fetch sets; BootProgressing is derived from the timeline instead. */
type FetchedType = Exclude<(typeof SERVED_CONDITIONS)[number], typeof CONDITION_BOOT_PROGRESSING>;

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

/** A burst of milestones is written at the latest this long after its first one, however busy the machine. */
const MAX_COALESCE_MS = 10_000;
const DEFAULT_STALL_AFTER_MS = 10 * 60_000;

/** BootProgressing for where the last boot stands, pure (lastTransitionTime is added by the caller). */
export function bootProgressingCondition(progress: BootProgress, generation: number | undefined): Omit<Condition, "lastTransitionTime"> {
  const last = progress.lastMilestone;
  const what = `${last.name} served to ${last.requester || "(address unknown)"} at ${last.at.toISOString()}`;
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

interface PendingWrite {
  ref: ConfigRef;
  fetches: Map<FetchedType, PendingFetch>;
  /** When the first and the latest milestone of this burst were recorded (ms). */
  firstAt: number;
  lastAt: number;
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
    const { what, reason } = FETCHED[type];
    const reported = fetch.reported ? ` It reported ${fetch.reported}.` : "";
    conditions.set(type, {
      type,
      status: "True",
      reason,
      message: `${what} has been successfully delivered to the client ${fetch.client || "(address unknown)"} at ${fetch.at.toISOString()}.${reported}`,
      lastTransitionTime: rfc3339Seconds(fetch.at),
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    });
  }
  return [...conditions.values()];
}

function refId(ref: ConfigRef): string {
  return `${ref.kind}|${ref.namespace}/${ref.name}`;
}

export class ServedStatusWriter {
  readonly stats = { recorded: 0, writes: 0, errors: 0 };
  /** Fetches and milestones not written yet, per object. */
  private readonly pending = new Map<string, PendingWrite>();
  /** What was last written per object and condition type, to skip re-writing the same client's fetch too often. */
  private readonly written = new Map<string, PendingFetch>();
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

  /** Configs whose fetches are not written yet: the status write backlog. */
  get backlog(): number {
    return this.pending.size;
  }

  /** Writes what is still pending once, then stops. */
  async stop(): Promise<void> {
    await this.queue.stop();
    for (const { ref } of [...this.pending.values()]) {
      const result = await this.write(ref, true);
      if (result.type === "error") {
        this.stats.errors++;
        this.deps.log.warn("could not record fetch in status", { config: describeConfig(ref), error: result.error.message });
      }
    }
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** Hot path: a Map update and, for the first fetch of a window, one timer. `timeline`: the one the event changed. */
  record(event: ServedEvent, timeline?: ConfigTimeline): void {
    const type = MILESTONE_CONDITIONS[event.milestone];
    const target = event.kind && event.configKey ? { kind: event.kind, key: event.configKey } : timeline;
    if ((!type && !timeline) || !target) return;
    this.stats.recorded++;
    const ref = configRef(target.kind, target.key);
    const id = refId(ref);
    const now = this.now();
    const forObject = this.pending.get(id) ?? { ref, fetches: new Map<FetchedType, PendingFetch>(), firstAt: now, lastAt: now };
    forObject.lastAt = now;
    this.pending.set(id, forObject);
    if (type) forObject.fetches.set(type, { client: event.client, at: event.at, ...(event.ztp ? { reported: describeReported(event.ztp) } : {}) });
    // A failing object is already waiting for its backoff; that retry carries this fetch too.
    if (this.queue.retries(ref) === 0) this.queue.addAfter(ref, this.deps.flushIntervalMs ?? 1_000);
  }

  /** `flushNow`: on stop, write what is pending even in the middle of a burst. */
  private async write(ref: ConfigRef, flushNow = false): Promise<ReconcileResult> {
    const id = refId(ref);
    const now = this.now();
    const flushMs = this.deps.flushIntervalMs ?? 1_000;
    const entry = this.pending.get(id);
    // Still in a burst: wait until it is quiet (bounded), so the burst is one write.
    if (!flushNow && entry && now - entry.lastAt < flushMs && now - entry.firstAt < MAX_COALESCE_MS) return requeueAfter(flushMs - (now - entry.lastAt));
    this.pending.delete(id);
    const minInterval = this.deps.minRewriteIntervalMs ?? 10_000;
    const fetches = new Map(
      [...(entry?.fetches ?? [])].filter(([type, fetch]) => {
        const last = this.written.get(`${id}|${type}`);
        return !last || last.client !== fetch.client || fetch.at.getTime() - last.at.getTime() >= minInterval;
      }),
    );
    const raw = this.deps.source.rawObject(ref.kind, cacheKeyOf(ref)) as RawConfig | undefined;
    if (!raw) {
      for (const type of SERVED_CONDITIONS) this.written.delete(`${id}|${type}`); // deleted: forget it
      return done;
    }
    const existing = raw.status?.conditions ?? [];
    const generation = raw.metadata?.generation;
    const conditions = fetchedConditions(existing, generation, fetches);
    // The timeline: this replica's view merged with what status holds (another replica may have served part of it).
    const stored = bootFromStatus(raw.status?.lastBoot);
    const timelineKind = ref.kind === "SwitchBootConfig" ? undefined : ref.kind;
    const boot =
      this.deps.timelines && timelineKind ? mergeBoots(stored, this.deps.timelines.get(timelineKind, `${ref.namespace}/${ref.name}`)?.boot) : undefined;
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
    if (fetches.size > 0 || lastBootChanged || progressChanged) {
      try {
        // lastBoot is always applied once known: leaving it out would make server-side apply remove it.
        const shownBoot = lastBoot ?? storedShape;
        const started = performance.now();
        try {
          await applyStatus(this.deps.client, ref, { conditions, ...(shownBoot ? { lastBoot: shownBoot } : {}) }, SERVED_FIELD_MANAGER);
          this.deps.onWrite?.((performance.now() - started) / 1000, "success");
        } catch (error) {
          this.deps.onWrite?.((performance.now() - started) / 1000, "error");
          throw error;
        }
      } catch (error) {
        if (isNotFound(error)) return done; // deleted meanwhile
        // Keep the newest information for the retry unless newer fetches replaced it meanwhile.
        const again = this.pending.get(id) ?? { ref, fetches: new Map<FetchedType, PendingFetch>(), firstAt: 0, lastAt: 0 };
        for (const [type, fetch] of fetches) if (!again.fetches.has(type)) again.fetches.set(type, fetch);
        this.pending.set(id, again);
        return failed(error);
      }
      this.stats.writes++;
      for (const [type, fetch] of fetches) this.written.set(`${id}|${type}`, fetch);
      if (progress?.state === "Stalled" && progressChanged && this.deps.events) {
        const condition = bootProgressingCondition(progress, generation);
        void this.deps.events.record(ref, raw.metadata?.uid, "Warning", condition.reason, condition.message);
      }
    }
    // Looked at again when it would stall (a new milestone before then schedules an earlier write anyway).
    if (progress?.state === "Booting" && progress.stallsAt) return requeueAfter(Math.max(1, progress.stallsAt.getTime() - now + 1));
    return done;
  }
}
