// The status reconciler's decision, pure: given a config as the API server last showed it, its diagnosis from the
// index and (when its version fails validation) its schema problems, what (if anything) to write and whether the
// story changed (worth a log line and an Event). The reconciler only gathers the inputs and carries the plan out,
// so every branch here is unit-tested without an API server.
import type { Condition } from "../api/index.ts";
import type { Diagnosis } from "../boot/diagnose.ts";
import type { InvalidSpec } from "../sources/kube/kube-source.ts";
import { CONDITION_READY, desiredStatus, invalidSpecMessage, invalidSpecStatus, type ReconcilerStatus, statusUpToDate } from "./conditions.ts";

/** The fields of a raw IPXEBootConfig/HTTPBootConfig the reconciler reads. */
export interface RawConfig {
  metadata?: { generation?: number; uid?: string };
  spec?: unknown;
  status?: { state?: string; conditions?: Condition[] };
}

interface StateTransition {
  from: string;
  to: string;
  reason: string;
  message: string;
  eventType: "Normal" | "Warning";
  eventReason: string;
}

type StatusPlan =
  /** Deleted (the watch already dropped it): nothing to do, nothing to retry. */
  | { action: "none"; why: "deleted" | "up-to-date" }
  /** On the API server but not in the index yet, and not known to be invalid: try again when the next snapshot lands. */
  | { action: "await-snapshot" }
  | { action: "write"; status: ReconcilerStatus; transition: StateTransition | undefined };

/**
 * `diagnosis` undefined: the index does not hold the config (its snapshot is still coming, or it is invalid).
 * `invalid`: the version on the API server fails validation; that wins over any diagnosis (which can only be of an
 * older version still served), so a fleet created under a looser CRD never keeps a stale Ready.
 */
export function planConfigStatus(raw: RawConfig | undefined, diagnosis: Diagnosis | undefined, now: Date, invalid?: InvalidSpec): StatusPlan {
  if (!raw) return { action: "none", why: "deleted" };
  const current = raw.status;
  const generation = raw.metadata?.generation;
  let status: ReconcilerStatus;
  if (invalid && invalid.problems.length > 0) {
    status = invalidSpecStatus(invalidSpecMessage(invalid.problems, raw, invalid.servingPrevious), generation, current?.conditions ?? [], now);
  } else if (diagnosis) status = desiredStatus(diagnosis, generation, current?.conditions ?? [], now);
  else return { action: "await-snapshot" };
  if (statusUpToDate(status, current)) return { action: "none", why: "up-to-date" };
  const ready = status.conditions[0];
  const previousReason = current?.conditions?.find((condition) => condition.type === CONDITION_READY)?.reason;
  // A new state, or a new reason for not being Ready (SecretNotFound → InvalidSpec): both are worth telling.
  const storyChanged = current?.state !== status.state || (status.state !== "Ready" && previousReason !== ready.reason);
  if (!storyChanged) return { action: "write", status, transition: undefined };
  return {
    action: "write",
    status,
    transition: {
      from: current?.state ?? "(none)",
      to: status.state,
      reason: ready.reason,
      message: ready.message,
      eventType: status.state === "Ready" ? "Normal" : "Warning",
      eventReason: status.state === "Ready" ? "BootConfigReady" : ready.reason,
    },
  };
}
