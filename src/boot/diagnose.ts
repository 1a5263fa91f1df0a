// Whether a config can be served, and if not why. The same function feeds `validate`/`explain` in directory mode
// and the status reconciler in Kubernetes mode, so both always agree.
import { type HTTPBootConfig, type IPXEBootConfig, objectKey, SECRET_KEY_IGNITION, SECRET_KEY_IPXE_SCRIPT } from "../api/index.ts";
import { type BootIndex, type ConfigKind, describeConflict, describeContest } from "../index/boot-index.ts";
import type { IgnitionCache } from "./ignition.ts";
import type { IpxeScriptCache } from "./ipxe-scripts.ts";
import { namespaceOf } from "./resolve.ts";

export type DiagnosisReason =
  | "SecretNotFound"
  | "SecretKeyMissing"
  | "IgnitionInvalid"
  | "ButaneTranslationFailed"
  | "IPXEScriptInvalid"
  | "IdentifierConflict";

export interface DiagnosisProblem {
  reason: DiagnosisReason;
  message: string;
}

export interface Diagnosis {
  kind: ConfigKind;
  key: string;
  state: "Ready" | "Error";
  problems: DiagnosisProblem[];
  /** Non-fatal remarks, e.g. Butane warnings. */
  warnings: string[];
}

interface Caches {
  ignition: IgnitionCache;
  ipxeScripts: IpxeScriptCache;
}

function checkIgnitionRef(
  index: BootIndex,
  caches: Caches,
  namespace: string,
  name: string | undefined,
  owner: string,
  problems: DiagnosisProblem[],
  warnings: string[],
): void {
  if (!name) return;
  const entry = index.secret(namespace, name);
  if (!entry) {
    problems.push({ reason: "SecretNotFound", message: `ignition secret ${namespace}/${name} referenced by ${owner} does not exist` });
    return;
  }
  if (!entry.values.has(SECRET_KEY_IGNITION)) {
    problems.push({ reason: "SecretKeyMissing", message: `secret ${entry.key} has no key "${SECRET_KEY_IGNITION}"` });
    return;
  }
  const outcome = caches.ignition.outcomeFor(entry);
  if (!outcome.ok) {
    problems.push({ reason: outcome.reason.startsWith("butane") ? "ButaneTranslationFailed" : "IgnitionInvalid", message: outcome.reason });
  } else {
    warnings.push(...outcome.warnings.map((warning) => `secret ${entry.key}: ${warning}`));
  }
}

/**
 * Prefixes of the conflict remarks that are warnings, not problems; the status reconciler turns them into the
 * IdentifiersUnique condition (standby: False, the config is not served for it by design; contested: True, it is
 * served, and others claim the same identifier).
 */
export const STANDBY_REMARK = "standby: ";
export const CONTESTED_REMARK = "contested: ";

/**
 * Losing is an error, except for the translator's verified standby config (maintenance vs workload), which is meant
 * to lose — unless it lost to another namespace, which it could never win. Winning a conflict is a remark naming
 * the other claimants: the conflict is real even where this config is the one served.
 */
function reportConflicts(index: BootIndex, kind: ConfigKind, key: string, problems: DiagnosisProblem[], warnings: string[]): void {
  const standby = index.translatorRole(kind, key) === "standby";
  for (const conflict of index.conflictsLostBy(kind, key)) {
    const reason = conflict.reasons[conflict.losers.indexOf(key)];
    if (standby && reason !== "namespace") warnings.push(`${STANDBY_REMARK}${describeConflict(conflict)}`);
    else problems.push({ reason: "IdentifierConflict", message: describeConflict(conflict) });
  }
  for (const conflict of index.conflictsHeldBy(kind, key)) warnings.push(`${CONTESTED_REMARK}${describeContest(conflict)}`);
}

export function diagnoseIpxeBootConfig(index: BootIndex, caches: Caches, config: IPXEBootConfig): Diagnosis {
  const key = objectKey(config.metadata);
  const namespace = namespaceOf(config.metadata);
  const problems: DiagnosisProblem[] = [];
  const warnings: string[] = [];
  const owner = `IPXEBootConfig ${key}`;
  checkIgnitionRef(index, caches, namespace, config.spec.ignitionSecretRef?.name, owner, problems, warnings);
  const scriptRef = config.spec.ipxeScriptSecretRef?.name;
  if (scriptRef) {
    const entry = index.secret(namespace, scriptRef);
    if (!entry) problems.push({ reason: "SecretNotFound", message: `ipxe-script secret ${namespace}/${scriptRef} referenced by ${owner} does not exist` });
    else if (!entry.values.has(SECRET_KEY_IPXE_SCRIPT))
      problems.push({ reason: "SecretKeyMissing", message: `secret ${entry.key} has no key "${SECRET_KEY_IPXE_SCRIPT}"` });
    else {
      const outcome = caches.ipxeScripts.outcomeFor(entry);
      if (!outcome.ok) problems.push({ reason: "IPXEScriptInvalid", message: outcome.reason });
    }
  }
  reportConflicts(index, "IPXEBootConfig", key, problems, warnings);
  return { kind: "IPXEBootConfig", key, state: problems.length ? "Error" : "Ready", problems, warnings };
}

export function diagnoseHttpBootConfig(index: BootIndex, caches: Caches, config: HTTPBootConfig): Diagnosis {
  const key = objectKey(config.metadata);
  const problems: DiagnosisProblem[] = [];
  const warnings: string[] = [];
  checkIgnitionRef(index, caches, namespaceOf(config.metadata), config.spec.ignitionSecretRef?.name, `HTTPBootConfig ${key}`, problems, warnings);
  if (!config.spec.ukiURL) warnings.push(`HTTPBootConfig ${key} has no ukiURL: /httpboot will not answer for it`);
  reportConflicts(index, "HTTPBootConfig", key, problems, warnings);
  return { kind: "HTTPBootConfig", key, state: problems.length ? "Error" : "Ready", problems, warnings };
}

export function diagnoseAll(index: BootIndex, caches: Caches): Diagnosis[] {
  return [
    ...index.ipxeBootConfigs.map((config) => diagnoseIpxeBootConfig(index, caches, config)),
    ...index.httpBootConfigs.map((config) => diagnoseHttpBootConfig(index, caches, config)),
  ];
}
