// Whether a config can be served, and if not why. The same function feeds `validate`/`explain` in directory mode
// and the status reconciler in Kubernetes mode, so both always agree.
import { canonicalIp, canonicalNetworkIdentifier } from "../api/canonical.ts";
import { type HTTPBootConfig, type IPXEBootConfig, objectKey, SECRET_KEY_IGNITION, SECRET_KEY_IPXE_SCRIPT } from "../api/index.ts";
import { type BootIndex, type ConfigKind, describeConflict, type IdentifierConflict, isStandby } from "../index/boot-index.ts";
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

/** A standby config (maintenance vs workload) is meant to lose; anything else losing a conflict is an error. */
function reportConflicts(conflicts: IdentifierConflict[], standby: boolean, problems: DiagnosisProblem[], warnings: string[]): void {
  for (const conflict of conflicts) {
    if (standby) warnings.push(`standby: ${describeConflict(conflict)}`);
    else problems.push({ reason: "IdentifierConflict", message: describeConflict(conflict) });
  }
}

export function diagnoseIpxeBootConfig(index: BootIndex, caches: Caches, config: IPXEBootConfig): Diagnosis {
  const key = objectKey(config.metadata);
  const namespace = namespaceOf(config.metadata);
  const problems: DiagnosisProblem[] = [];
  const warnings: string[] = [];
  const owner = `IPXEBootConfig ${key}`;
  checkIgnitionRef(index, caches, namespace, config.spec.ignitionSecretRef?.name, owner, problems, warnings);
  // Accepted like the Go CRD does, but an entry that is no IP can never match a request.
  for (const entry of config.spec.systemIPs ?? []) {
    if (canonicalIp(entry) === null) warnings.push(`systemIPs entry ${JSON.stringify(entry)} is not an IP address; it never matches and is ignored`);
  }
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
  reportConflicts(index.conflictsLostBy("IPXEBootConfig", key), isStandby(config.metadata), problems, warnings);
  return { kind: "IPXEBootConfig", key, state: problems.length ? "Error" : "Ready", problems, warnings };
}

export function diagnoseHttpBootConfig(index: BootIndex, caches: Caches, config: HTTPBootConfig): Diagnosis {
  const key = objectKey(config.metadata);
  const problems: DiagnosisProblem[] = [];
  const warnings: string[] = [];
  checkIgnitionRef(index, caches, namespaceOf(config.metadata), config.spec.ignitionSecretRef?.name, `HTTPBootConfig ${key}`, problems, warnings);
  for (const entry of config.spec.networkIdentifiers ?? []) {
    if (canonicalNetworkIdentifier(entry) === null) {
      warnings.push(`networkIdentifiers entry ${JSON.stringify(entry)} is neither an IP nor a MAC address; it never matches and is ignored`);
    }
  }
  if (!config.spec.ukiURL) warnings.push(`HTTPBootConfig ${key} has no ukiURL: /httpboot answers the default UKI for it, if one is configured`);
  reportConflicts(index.conflictsLostBy("HTTPBootConfig", key), isStandby(config.metadata), problems, warnings);
  return { kind: "HTTPBootConfig", key, state: problems.length ? "Error" : "Ready", problems, warnings };
}

export function diagnoseAll(index: BootIndex, caches: Caches): Diagnosis[] {
  return [
    ...index.ipxeBootConfigs.map((config) => diagnoseIpxeBootConfig(index, caches, config)),
    ...index.httpBootConfigs.map((config) => diagnoseHttpBootConfig(index, caches, config)),
  ];
}
