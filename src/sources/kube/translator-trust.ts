// Which boot configs the metal-operator translator verifiably owns, and whether each is the one its Server boots
// now. The boot.ironcore.dev/active annotation decides who gets a machine when configs conflict, and anyone who can
// write a config can write an annotation; so it counts only on a config that the API server's own objects vouch
// for: a controller owner reference to a ServerBootConfiguration (matching UID), named like it (the translator names
// its children so), whose Server refers to that SBC, and claiming nothing but that Server's identifiers. Pure: the
// Kubernetes source feeds it its caches, unit tests feed it objects.
import { canonicalIp, canonicalNetworkIdentifier, canonicalUuid } from "../../api/canonical.ts";
import { DEFAULT_NAMESPACE, type HTTPBootConfig, type IPXEBootConfig, objectKey } from "../../api/index.ts";
import { ACTIVE_ANNOTATION, configId, type TranslatorRole } from "../../index/boot-index.ts";
import { cacheKeyOf, METAL_GROUP, SERVER_BOOT_CONFIGURATIONS } from "../../kube/paths.ts";

export interface TranslatorEvidence {
  /** ServerBootConfigurations by namespace/name, as the API server has them. */
  sbcs: ReadonlyMap<string, unknown>;
  /** Servers (cluster-scoped) by name. */
  servers: ReadonlyMap<string, unknown>;
}

/** A boot config as the sources hold it (BootResource's shape). */
export type TranslatedConfig = { kind: "IPXEBootConfig"; object: IPXEBootConfig } | { kind: "HTTPBootConfig"; object: HTTPBootConfig };

interface ObjectRef {
  name?: unknown;
  namespace?: unknown;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The controller owner reference, if it points at a ServerBootConfiguration of metal.ironcore.dev. */
function controllingSbc(metadata: unknown): { name: string; uid: string } | undefined {
  const references = record(metadata)?.ownerReferences;
  if (!Array.isArray(references)) return undefined;
  const controller = references.map(record).find((reference) => reference?.controller === true);
  const apiVersion = text(controller?.apiVersion);
  const name = text(controller?.name);
  const uid = text(controller?.uid);
  if (!apiVersion || !name || !uid || controller?.kind !== SERVER_BOOT_CONFIGURATIONS.kind) return undefined;
  return apiVersion.split("/")[0] === METAL_GROUP ? { name, uid } : undefined;
}

/**
 * Whether the Server boots this SBC now: its maintenance ref when set, else its workload ref; undefined when it names
 * neither. The same rule as the translator's activeFor (which writes the annotation this checks).
 */
export function serverRefersTo(server: unknown, sbcNamespace: string, sbcName: string): boolean | undefined {
  const spec = record(record(server)?.spec);
  const matches = (ref: ObjectRef | undefined): boolean => ref?.name === sbcName && (text(ref.namespace) ?? sbcNamespace) === sbcNamespace;
  const maintenance = record(spec?.maintenanceBootConfigurationRef);
  const workload = record(spec?.bootConfigurationRef);
  if (text(maintenance?.name)) return matches(maintenance);
  if (text(workload?.name)) return matches(workload);
  return undefined;
}

/** The Server's identifiers in canonical form: spec.systemUUID and its NICs' IPs and MACs. */
function serverIdentifiers(server: unknown): { uuid: string | undefined; ips: Set<string>; macs: Set<string> } {
  const object = record(server);
  const rawUuid = text(record(object?.spec)?.systemUUID);
  const ips = new Set<string>();
  const macs = new Set<string>();
  const nics = record(object?.status)?.networkInterfaces;
  for (const nic of Array.isArray(nics) ? nics.map(record) : []) {
    const addresses = [...(Array.isArray(nic?.ips) ? nic.ips : []), nic?.ip];
    for (const address of addresses) {
      const ip = typeof address === "string" ? canonicalIp(address) : null;
      if (ip) ips.add(ip);
    }
    const mac = typeof nic?.macAddress === "string" ? canonicalNetworkIdentifier(nic.macAddress) : null;
    if (mac?.kind === "mac") macs.add(mac.value);
  }
  return { uuid: rawUuid ? (canonicalUuid(rawUuid) ?? undefined) : undefined, ips, macs };
}

/** Every identifier the config claims belongs to the Server: a translator child never claims another machine. */
function claimsOnlyServer(entry: TranslatedConfig, server: unknown): boolean {
  const identity = serverIdentifiers(server);
  const spec = entry.object.spec;
  if (spec.systemUUID !== undefined && (canonicalUuid(spec.systemUUID) ?? "") !== identity.uuid) return false;
  if (entry.kind === "IPXEBootConfig") return (entry.object.spec.systemIPs ?? []).every((ip) => identity.ips.has(canonicalIp(ip) ?? ""));
  return (entry.object.spec.networkIdentifiers ?? []).every((raw) => {
    const identifier = canonicalNetworkIdentifier(raw);
    return identifier !== null && (identifier.kind === "ip" ? identity.ips : identity.macs).has(identifier.value);
  });
}

/** The config's role, or undefined when anything about its claim to be the translator's does not check out. */
export function translatorRoleOf(entry: TranslatedConfig, evidence: TranslatorEvidence): TranslatorRole | undefined {
  const metadata = entry.object.metadata;
  const annotation = metadata.annotations?.[ACTIVE_ANNOTATION];
  if (annotation !== "true" && annotation !== "false") return undefined;
  const owner = controllingSbc(metadata);
  if (!owner || owner.name !== metadata.name) return undefined;
  const namespace = metadata.namespace ?? DEFAULT_NAMESPACE;
  const sbc = record(evidence.sbcs.get(cacheKeyOf({ namespace, name: owner.name })));
  if (!sbc || record(sbc.metadata)?.uid !== owner.uid) return undefined;
  const serverName = text(record(record(sbc.spec)?.serverRef)?.name);
  const server = serverName ? evidence.servers.get(serverName) : undefined;
  if (!server || !claimsOnlyServer(entry, server)) return undefined;
  const refers = serverRefersTo(server, namespace, owner.name);
  if (annotation === "true" && refers === true) return "active";
  if (annotation === "false" && refers === false) return "standby";
  return undefined;
}

/** configId → role for every config whose role checks out; configs without the annotation are skipped at once. */
export function translatorRoles(entries: Iterable<TranslatedConfig>, evidence: TranslatorEvidence): Map<string, TranslatorRole> {
  const roles = new Map<string, TranslatorRole>();
  for (const entry of entries) {
    if (entry.object.metadata.annotations?.[ACTIVE_ANNOTATION] === undefined) continue;
    const role = translatorRoleOf(entry, evidence);
    if (role) roles.set(configId(entry.kind, objectKey(entry.object.metadata)), role);
  }
  return roles;
}

/** What the status reconciler writes (controllers/conditions.ts, which this layer may not import; a unit test ties them). */
export const IDENTIFIERS_UNIQUE = "IdentifiersUnique";
export const HELD_CONTESTED_REASON = "IdentifierContested";

/**
 * Whether a config's status, at its current generation, says it held every identifier it claims although others
 * claimed them too: after a restart the process has no memory of holders, and this is what the previous process (or
 * the leader) decided. Status is a subresource only the appliance writes, and an edit of the spec bumps the
 * generation, so no config can edit its way into holding. Only the contested-holder reason counts: an uncontested
 * config does not need it, and versions before this rule wrote "NoConflict" for contested winners too, so a machine
 * taken over before the upgrade is not kept by the taker.
 */
export function statusSaysHeld(raw: unknown): boolean {
  const object = record(raw);
  const generation = record(object?.metadata)?.generation;
  const conditions = record(object?.status)?.conditions;
  if (typeof generation !== "number" || !Array.isArray(conditions)) return false;
  const unique = conditions.map(record).find((condition) => condition?.type === IDENTIFIERS_UNIQUE);
  return unique?.status === "True" && unique.reason === HELD_CONTESTED_REASON && unique.observedGeneration === generation;
}
