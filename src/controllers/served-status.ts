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
  CONDITION_ONIE_INSTALLER_FETCHED,
  CONDITION_PROVISIONING_SCRIPT_FETCHED,
  CONDITION_ZTP_CONFIG_FETCHED,
  REASON_IGNITION_DELIVERED,
  REASON_IPXE_SCRIPT_DELIVERED,
  rfc3339Seconds,
  SERVED_CONDITIONS,
} from "./conditions.ts";
import { done, failed, KeyedWorkQueue, type ReconcileResult } from "./work-queue.ts";

interface PendingFetch {
  client: string;
  at: Date;
  /** Switches: the ZTP protocol and what the client reported ("ONIE-VERSION 2019.11, …"). */
  reported?: string;
}

type FetchedType = (typeof SERVED_CONDITIONS)[number];

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
  /** Fetches not written yet, per object. */
  private readonly pending = new Map<string, { ref: ConfigRef; fetches: Map<FetchedType, PendingFetch> }>();
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
    await this.queue.stop();
    for (const { ref } of [...this.pending.values()]) {
      const result = await this.write(ref);
      if (result.type === "error") {
        this.stats.errors++;
        this.deps.log.warn("could not record fetch in status", { config: describeConfig(ref), error: result.error.message });
      }
    }
  }

  /** Hot path: a Map update and, for the first fetch of a window, one timer. */
  record(event: ServedEvent): void {
    const type = MILESTONE_CONDITIONS[event.milestone];
    if (!type || !event.kind || !event.configKey) return;
    this.stats.recorded++;
    const ref = configRef(event.kind, event.configKey);
    const id = refId(ref);
    const forObject = this.pending.get(id) ?? { ref, fetches: new Map<FetchedType, PendingFetch>() };
    this.pending.set(id, forObject);
    forObject.fetches.set(type, { client: event.client, at: event.at, ...(event.ztp ? { reported: describeReported(event.ztp) } : {}) });
    // A failing object is already waiting for its backoff; that retry carries this fetch too.
    if (this.queue.retries(ref) === 0) this.queue.addAfter(ref, this.deps.flushIntervalMs ?? 1_000);
  }

  private async write(ref: ConfigRef): Promise<ReconcileResult> {
    const id = refId(ref);
    const allFetches = this.pending.get(id)?.fetches;
    if (!allFetches) return done;
    this.pending.delete(id);
    const minInterval = this.deps.minRewriteIntervalMs ?? 10_000;
    const fetches = new Map(
      [...allFetches].filter(([type, fetch]) => {
        const last = this.written.get(`${id}|${type}`);
        return !last || last.client !== fetch.client || fetch.at.getTime() - last.at.getTime() >= minInterval;
      }),
    );
    if (fetches.size === 0) return done;
    const raw = this.deps.source.rawObject(ref.kind, cacheKeyOf(ref)) as RawConfig | undefined;
    if (!raw) {
      for (const type of SERVED_CONDITIONS) this.written.delete(`${id}|${type}`); // deleted: forget it
      return done;
    }
    const conditions = fetchedConditions(raw.status?.conditions ?? [], raw.metadata?.generation, fetches);
    try {
      await applyStatus(this.deps.client, ref, { conditions }, SERVED_FIELD_MANAGER);
    } catch (error) {
      if (isNotFound(error)) return done; // deleted meanwhile
      // Keep the newest information for the retry unless newer fetches replaced it meanwhile.
      const again = this.pending.get(id) ?? { ref, fetches: new Map<FetchedType, PendingFetch>() };
      for (const [type, fetch] of fetches) if (!again.fetches.has(type)) again.fetches.set(type, fetch);
      this.pending.set(id, again);
      return failed(error);
    }
    this.stats.writes++;
    for (const [type, fetch] of fetches) this.written.set(`${id}|${type}`, fetch);
    return done;
  }
}
