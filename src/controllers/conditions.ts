// Status computation, pure: what a config's status should say given its diagnosis (or, for a version that fails
// validation, its schema problems), keeping KEP-1623 semantics (lastTransitionTime moves only when a condition's
// status changes). Condition types and the *Fetched reasons are the Go operator's, so alerts and dashboards carry over.
import type { BootConfigState, Condition, SchemaProblem } from "../api/index.ts";
import { CONTESTED_REMARK, type Diagnosis, STANDBY_REMARK } from "../boot/diagnose.ts";

export const CONDITION_READY = "Ready";
export const CONDITION_IDENTIFIERS_UNIQUE = "IdentifiersUnique";
export const CONDITION_IPXE_SCRIPT_FETCHED = "IPXEScriptFetched";
export const CONDITION_IGNITION_FETCHED = "IgnitionDataFetched";
/** True while the referenced Butane translates only with warnings (e.g. an unused key, which Butane drops). */
export const CONDITION_IGNITION_WARNINGS = "IgnitionWarnings";
/** Condition types the reconciler owns; the served-status writer owns the *Fetched ones. */
export const RECONCILER_CONDITIONS = [CONDITION_READY, CONDITION_IDENTIFIERS_UNIQUE, CONDITION_IGNITION_WARNINGS] as const;
/** Kubernetes caps a condition message at 32768 bytes; keep well below it. */
const MAX_WARNINGS_MESSAGE = 8192;
/** How far the last boot got (status.lastBoot): True while booting, False when completed or stalled (issue #15 §3). */
export const CONDITION_BOOT_PROGRESSING = "BootProgressing";
/** Switches (SwitchBootConfig): what each ZTP client fetched, by whom, with the versions it reported. */
export const CONDITION_ONIE_INSTALLER_FETCHED = "ONIEInstallerFetched";
export const CONDITION_ZTP_CONFIG_FETCHED = "ZTPConfigFetched";
export const CONDITION_PROVISIONING_SCRIPT_FETCHED = "ProvisioningScriptFetched";
export const SERVED_CONDITIONS = [
  CONDITION_IPXE_SCRIPT_FETCHED,
  CONDITION_IGNITION_FETCHED,
  CONDITION_ONIE_INSTALLER_FETCHED,
  CONDITION_ZTP_CONFIG_FETCHED,
  CONDITION_PROVISIONING_SCRIPT_FETCHED,
  CONDITION_BOOT_PROGRESSING,
] as const;
/** The Go operator's reasons for the *Fetched conditions (status True, written when a machine fetched). */
export const REASON_IPXE_SCRIPT_DELIVERED = "IPXEScriptDelivered";
export const REASON_IGNITION_DELIVERED = "IgnitionDataDelivered";
/** Ready=False reason for a version of the object that fails validation (it is not what is served). */
const REASON_INVALID_SPEC = "InvalidSpec";

export interface ReconcilerStatus {
  state: BootConfigState;
  /** Ready first, then IdentifiersUnique; the server kinds also get IgnitionWarnings (switches have no Ignition). */
  conditions: [ready: Condition, identifiersUnique: Condition, ...ignitionWarnings: Condition[]];
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
  // Of its own kind: an HTTPBootConfig may name the same UUID as an IPXEBootConfig without any conflict.
  return { status: "True", reason: "NoConflict", message: `no other ${diagnosis.kind} claims this config's identifiers` };
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
  const butaneWarnings = diagnosis.ignitionWarnings ?? [];
  const warningsMessage = butaneWarnings.join("; ");
  const ignitionWarnings = withTransitionTime(
    butaneWarnings.length > 0
      ? {
          type: CONDITION_IGNITION_WARNINGS,
          status: "True",
          reason: "ButaneWarnings",
          message: warningsMessage.length > MAX_WARNINGS_MESSAGE ? `${warningsMessage.slice(0, MAX_WARNINGS_MESSAGE - 1)}…` : warningsMessage,
          ...generationField,
        }
      : { type: CONDITION_IGNITION_WARNINGS, status: "False", reason: "NoWarnings", message: "the ignition translates without warnings", ...generationField },
    existing,
    now,
  );
  if (diagnosis.kind === "SwitchBootConfig") return { state: diagnosis.state, conditions: [ready, unique] };
  return { state: diagnosis.state, conditions: [ready, unique, ignitionWarnings] };
}

/** A short, single-line rendering of the offending value, or undefined when there is none worth showing. */
function shownValue(value: unknown): string | undefined {
  if (value === undefined || (typeof value === "object" && value !== null)) return undefined;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The value at a dotted path ("spec.systemIPs.0") of a raw object. */
function valueAt(object: unknown, path: string): unknown {
  let current = object;
  for (const segment of path ? path.split(".") : []) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * One line naming every offending field once, with what it holds: `spec.systemUUID: must be a UUID like … (got
 * "abc")`, then whether anything is served meanwhile.
 */
export function invalidSpecMessage(problems: readonly SchemaProblem[], raw: unknown, servingPrevious: boolean): string {
  const byPath = new Map<string, string[]>();
  for (const problem of problems) {
    const messages = byPath.get(problem.path) ?? [];
    if (!messages.includes(problem.message)) messages.push(problem.message);
    byPath.set(problem.path, messages);
  }
  const parts = [...byPath].map(([path, messages]) => {
    const value = path ? shownValue(valueAt(raw, path)) : undefined;
    return `${path || "object"}: ${messages.join(", ")}${value === undefined ? "" : ` (got ${value})`}`;
  });
  const served = servingPrevious ? "the last valid version is still served" : "not served until fixed";
  return `${parts.join("; ")}; ${served}`;
}

/**
 * Status of a config whose version on the API server fails validation: Error, Ready=False/InvalidSpec naming the
 * fields, IdentifiersUnique Unknown (the identifiers of an invalid spec are not indexed, so not checked).
 */
export function invalidSpecStatus(message: string, generation: number | undefined, existing: readonly Condition[], now: Date): ReconcilerStatus {
  const generationField = generation === undefined ? {} : { observedGeneration: generation };
  const ready = withTransitionTime({ type: CONDITION_READY, status: "False", reason: REASON_INVALID_SPEC, message, ...generationField }, existing, now);
  // The identifiers and the Ignition of an invalid spec are not indexed, so neither is checked.
  const notChecked = (type: string): Condition =>
    withTransitionTime(
      { type, status: "Unknown", reason: REASON_INVALID_SPEC, message: "not checked while the spec is invalid", ...generationField },
      existing,
      now,
    );
  const unique = notChecked(CONDITION_IDENTIFIERS_UNIQUE);
  const warnings = notChecked(CONDITION_IGNITION_WARNINGS);
  return { state: "Error", conditions: [ready, unique, warnings] };
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
