// The status reconciler's decision, pure: given a config as the API server last showed it and its diagnosis from the
// index, what (if anything) to write and whether the state changed (worth a log line and an Event). The reconciler
// only gathers the inputs and carries the plan out, so every branch here is unit-tested without an API server.
import type { Condition } from "../api/index.ts";
import type { Diagnosis } from "../boot/diagnose.ts";
import { CONDITION_READY, desiredStatus, type ReconcilerStatus, statusUpToDate } from "./conditions.ts";

/** The fields of a raw IPXEBootConfig/HTTPBootConfig the reconciler reads. */
export interface RawConfig {
  metadata?: { generation?: number; uid?: string };
  status?: { state?: string; conditions?: Condition[] };
}

export interface StateTransition {
  from: string;
  to: string;
  reason: string;
  message: string;
  eventType: "Normal" | "Warning";
  eventReason: string;
}

export type StatusPlan =
  /** Deleted (the watch already dropped it): nothing to do, nothing to retry. */
  | { action: "none"; why: "deleted" | "up-to-date" }
  /** On the API server but not (validly) in the index yet: try again when the next snapshot lands. */
  | { action: "await-snapshot" }
  | { action: "write"; status: ReconcilerStatus; transition: StateTransition | undefined };

/** `diagnosis` undefined: the index does not hold the config (its snapshot is still coming, or it is invalid). */
export function planConfigStatus(raw: RawConfig | undefined, diagnosis: Diagnosis | undefined, now: Date): StatusPlan {
  if (!raw) return { action: "none", why: "deleted" };
  if (!diagnosis) return { action: "await-snapshot" };
  const current = raw.status;
  const status = desiredStatus(diagnosis, raw.metadata?.generation, current?.conditions ?? [], now);
  if (statusUpToDate(status, current)) return { action: "none", why: "up-to-date" };
  if (current?.state === status.state) return { action: "write", status, transition: undefined };
  const ready = status.conditions.find((condition) => condition.type === CONDITION_READY);
  const reason = ready?.reason ?? status.state;
  const message = ready?.message ?? "";
  return {
    action: "write",
    status,
    transition: {
      from: current?.state ?? "(none)",
      to: status.state,
      reason,
      message,
      eventType: status.state === "Ready" ? "Normal" : "Warning",
      eventReason: status.state === "Ready" ? "BootConfigReady" : reason,
    },
  };
}
