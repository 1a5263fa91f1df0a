// Status computation, pure: what a config's status should say given its diagnosis, keeping KEP-1623 semantics
// (lastTransitionTime moves only when a condition's status changes).
import type { BootConfigState, Condition } from "../api/index.ts";
import { CONTESTED_REMARK, type Diagnosis, STANDBY_REMARK } from "../boot/diagnose.ts";

export const CONDITION_READY = "Ready";
export const CONDITION_IDENTIFIERS_UNIQUE = "IdentifiersUnique";
export const CONDITION_IPXE_SCRIPT_FETCHED = "IPXEScriptFetched";
export const CONDITION_IGNITION_FETCHED = "IgnitionDataFetched";
/** Condition types the reconciler owns; the served-status writer owns the *Fetched ones. */
export const RECONCILER_CONDITIONS = [CONDITION_READY, CONDITION_IDENTIFIERS_UNIQUE] as const;
export const SERVED_CONDITIONS = [CONDITION_IPXE_SCRIPT_FETCHED, CONDITION_IGNITION_FETCHED] as const;

export interface ReconcilerStatus {
  state: BootConfigState;
  /** Always both reconciler conditions, Ready first. */
  conditions: [ready: Condition, identifiersUnique: Condition];
}

/** metav1.Time: RFC 3339 with second precision. */
export function rfc3339Seconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** KEP-1623: lastTransitionTime moves only when the condition's status changes. */
export function withTransitionTime(next: Omit<Condition, "lastTransitionTime">, existing: readonly Condition[], now: Date): Condition {
  const previous = existing.find((condition) => condition.type === next.type);
  const lastTransitionTime = previous && previous.status === next.status ? previous.lastTransitionTime : rfc3339Seconds(now);
  return { ...next, lastTransitionTime };
}

/** `have` says what `wanted` says, times aside. */
export function conditionMatches(wanted: Condition, have: Condition | undefined): boolean {
  return (
    have !== undefined &&
    have.status === wanted.status &&
    have.reason === wanted.reason &&
    have.message === wanted.message &&
    have.observedGeneration === wanted.observedGeneration
  );
}

function noProblemListed(diagnosis: Diagnosis): never {
  throw new Error(`diagnosis of ${diagnosis.kind} ${diagnosis.key} is ${diagnosis.state} but lists no problem`);
}

function remarks(diagnosis: Diagnosis, prefix: string): string[] {
  return diagnosis.warnings.filter((warning) => warning.startsWith(prefix)).map((warning) => warning.slice(prefix.length));
}

/**
 * False when the config lost an identifier (IdentifierConflict) or is the translator's standby config (Standby: not
 * served for it, by design); True when it holds every identifier, naming the other claimants if there are any
 * (IdentifierContested: it is served, the conflict is still real).
 */
function identifiersUnique(diagnosis: Diagnosis, conflicts: readonly { message: string }[]): Pick<Condition, "status" | "reason" | "message"> {
  if (conflicts.length > 0) return { status: "False", reason: "IdentifierConflict", message: conflicts.map((problem) => problem.message).join("; ") };
  const standby = remarks(diagnosis, STANDBY_REMARK);
  if (standby.length > 0) return { status: "False", reason: "Standby", message: standby.join("; ") };
  const contested = remarks(diagnosis, CONTESTED_REMARK);
  if (contested.length > 0) return { status: "True", reason: "IdentifierContested", message: contested.join("; ") };
  return { status: "True", reason: "NoConflict", message: "no other config claims this config's identifiers" };
}

export function desiredStatus(diagnosis: Diagnosis, generation: number | undefined, existing: readonly Condition[], now: Date): ReconcilerStatus {
  const conflicts = diagnosis.problems.filter((problem) => problem.reason === "IdentifierConflict");
  const others = diagnosis.problems.filter((problem) => problem.reason !== "IdentifierConflict");
  const generationField = generation === undefined ? {} : { observedGeneration: generation };
  const ready = withTransitionTime(
    diagnosis.state === "Ready"
      ? { type: CONDITION_READY, status: "True", reason: "BootConfigServable", message: "all referenced secrets exist and render", ...generationField }
      : {
          type: CONDITION_READY,
          status: "False",
          reason: (others[0] ?? conflicts[0] ?? noProblemListed(diagnosis)).reason,
          message: diagnosis.problems.map((problem) => problem.message).join("; "),
          ...generationField,
        },
    existing,
    now,
  );
  const unique = withTransitionTime({ type: CONDITION_IDENTIFIERS_UNIQUE, ...identifiersUnique(diagnosis, conflicts), ...generationField }, existing, now);
  return { state: diagnosis.state, conditions: [ready, unique] };
}

/** True when `current` already says what `desired` says (times aside): then nothing is written. */
export function statusUpToDate(desired: ReconcilerStatus, current: { state?: string; conditions?: readonly Condition[] } | undefined): boolean {
  if (!current || current.state !== desired.state) return false;
  return desired.conditions.every((wanted) =>
    conditionMatches(
      wanted,
      current.conditions?.find((condition) => condition.type === wanted.type),
    ),
  );
}
