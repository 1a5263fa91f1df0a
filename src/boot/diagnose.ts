// Whether a config can be served, and if not why, as `validate`/`explain` (directory mode) and the status reconciler
// (Kubernetes mode) report it. Built on the same verdicts the boot endpoints answer with (servability.ts), so what
// an operator reads is, word for word, what the machine gets; identifier conflicts are added here.
import { canonicalIp, canonicalNetworkIdentifier } from "../api/canonical.ts";
import { type HTTPBootConfig, type IPXEBootConfig, objectKey, type SwitchBootConfig } from "../api/index.ts";
import { type BootIndex, type ConfigKind, describeConflict, describeContest } from "../index/boot-index.ts";
import { namespaceOf } from "./resolve.ts";
import { type SecretCaches, servability } from "./servability.ts";
import type { Servable, UnservableReason } from "./verdict.ts";
import { ZtpPayloadCache } from "./ztp/payload.ts";
import { switchDiagnosisParts } from "./ztp/serve.ts";

export type DiagnosisReason = Exclude<UnservableReason, "NotConfigured"> | "IdentifierConflict";

interface DiagnosisProblem {
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
  /** The Butane warnings alone (also in `warnings`): the IgnitionWarnings condition reports them. */
  ignitionWarnings?: string[];
}

/** An endpoint that is not configured is no error (a config without ignitionSecretRef is fine); broken ones are. */
function addProblem(verdict: Servable<object>, problems: DiagnosisProblem[]): void {
  if (!verdict.ok && verdict.reason !== "NotConfigured") problems.push({ reason: verdict.reason, message: verdict.message });
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

function diagnose(index: BootIndex, caches: SecretCaches, config: IPXEBootConfig | HTTPBootConfig): Diagnosis {
  const key = objectKey(config.metadata);
  const problems: DiagnosisProblem[] = [];
  const warnings: string[] = [];
  const endpoints = servability(index, caches, config);
  addProblem(endpoints.ignition, problems);
  const ignitionWarnings: string[] = [];
  if (endpoints.ignition.ok) {
    const secret = `${namespaceOf(config.metadata)}/${config.spec.ignitionSecretRef?.name ?? ""}`;
    ignitionWarnings.push(...endpoints.ignition.warnings.map((warning) => `secret ${secret}: ${warning}`));
    warnings.push(...ignitionWarnings);
  }
  // Identifiers are accepted as loosely as the Go CRD does, but an entry that is no address can never match.
  if (config.kind === "IPXEBootConfig") {
    // Valid, as in the Go CRD, but the default template then renders a kernel line without a kernel.
    if (!config.spec.ipxeScriptSecretRef) {
      const empty = (["kernelURL", "initrdURL"] as const).filter((field) => !config.spec[field]);
      if (empty.length > 0) {
        warnings.push(
          `${empty.join(" and ")} empty and no ipxeScriptSecretRef: the default iPXE script has nothing to boot (unless an --ipxe-template does without)`,
        );
      }
    }
    for (const entry of config.spec.systemIPs ?? []) {
      if (canonicalIp(entry) === null) warnings.push(`systemIPs entry ${JSON.stringify(entry)} is not an IP address; it never matches and is ignored`);
    }
  } else {
    for (const entry of config.spec.networkIdentifiers ?? []) {
      if (canonicalNetworkIdentifier(entry) === null) {
        warnings.push(`networkIdentifiers entry ${JSON.stringify(entry)} is neither an IP nor a MAC address; it never matches and is ignored`);
      }
    }
  }
  if (endpoints.kind === "IPXEBootConfig") addProblem(endpoints.ipxe, problems);
  else if (!endpoints.httpboot.ok) warnings.push(`HTTPBootConfig ${key} has no ukiURL: /httpboot answers the default UKI for it, if one is configured`);
  reportConflicts(index, config.kind, key, problems, warnings);
  return { kind: config.kind, key, state: problems.length ? "Error" : "Ready", problems, warnings, ignitionWarnings };
}

export function diagnoseIpxeBootConfig(index: BootIndex, caches: SecretCaches, config: IPXEBootConfig): Diagnosis {
  return diagnose(index, caches, config);
}

export function diagnoseHttpBootConfig(index: BootIndex, caches: SecretCaches, config: HTTPBootConfig): Diagnosis {
  return diagnose(index, caches, config);
}

/** A switch: its payloads' verdicts (the ones /ztp answers with) and its identifier conflicts. */
export function diagnoseSwitchBootConfig(index: BootIndex, cache: ZtpPayloadCache, config: SwitchBootConfig): Diagnosis {
  const key = objectKey(config.metadata);
  const { problems, warnings } = switchDiagnosisParts(index, cache, config);
  reportConflicts(index, "SwitchBootConfig", key, problems, warnings);
  return { kind: "SwitchBootConfig", key, state: problems.length ? "Error" : "Ready", problems, warnings };
}

/** `caches.ztp`: the store's switch payload cache (so a last good version counts); a fresh one otherwise. */
export function diagnoseAll(index: BootIndex, caches: SecretCaches & { ztp?: ZtpPayloadCache }): Diagnosis[] {
  const ztp = caches.ztp ?? new ZtpPayloadCache();
  return [
    ...index.ipxeBootConfigs.map((config) => diagnose(index, caches, config)),
    ...index.httpBootConfigs.map((config) => diagnose(index, caches, config)),
    ...index.switchBootConfigs.map((config) => diagnoseSwitchBootConfig(index, ztp, config)),
  ];
}
