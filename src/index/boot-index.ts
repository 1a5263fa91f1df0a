// The in-memory lookup tables the boot routes read. Built once per change of the resource set (never per
// request) and then only read, so a request sees one consistent snapshot without locking.

import { canonicalIp, canonicalNetworkIdentifier, canonicalUuid, swapUuidByteOrder } from "../api/canonical.ts";
import { type HTTPBootConfig, type IPXEBootConfig, type ObjectMeta, objectKey, type Secret, secretValues } from "../api/index.ts";

export interface ResourceSnapshot {
  ipxeBootConfigs: readonly IPXEBootConfig[];
  httpBootConfigs: readonly HTTPBootConfig[];
  secrets: readonly Secret[];
}

export type ConfigKind = "IPXEBootConfig" | "HTTPBootConfig";
type IdentifierKind = "uuid" | "ip" | "mac";

/** Two or more configs of one kind claim the same identifier; `winner` is served, `losers` are not for it. */
export interface IdentifierConflict {
  kind: ConfigKind;
  identifierKind: IdentifierKind;
  identifier: string;
  winner: string;
  losers: string[];
}

type MatchReason = "uuid" | "uuid-byte-swapped" | "ip" | "mac" | "mac-via-httpbootconfig";

export interface Match<T> {
  config: T;
  key: string;
  reason: MatchReason;
  /** The canonical identifier that matched. */
  identifier: string;
}

interface Claims<T> {
  byIdentifier: Map<string, T>;
  claimants: Map<string, string[]>;
}

function newClaims<T>(): Claims<T> {
  return { byIdentifier: new Map(), claimants: new Map() };
}

function claim<T>(claims: Claims<T>, identifier: string, key: string, config: T): void {
  const existing = claims.claimants.get(identifier);
  if (existing) {
    if (!existing.includes(key)) existing.push(key);
    return;
  }
  claims.claimants.set(identifier, [key]);
  claims.byIdentifier.set(identifier, config);
}

function creationTime(meta: ObjectMeta): number {
  const stamp = meta.creationTimestamp;
  if (stamp === undefined) return Number.POSITIVE_INFINITY;
  const millis = stamp instanceof Date ? stamp.getTime() : Date.parse(stamp);
  return Number.isNaN(millis) ? Number.POSITIVE_INFINITY : millis;
}

/**
 * Set by the metal-operator translator on the configs it generates: "true" on the one the Server currently refers
 * to (workload or maintenance), "false" on the other. Several configs then legitimately claim one machine.
 */
export const ACTIVE_ANNOTATION = "boot.ironcore.dev/active";

function activeRank(meta: ObjectMeta): number {
  const value = meta.annotations?.[ACTIVE_ANNOTATION];
  return value === "true" ? 0 : value === "false" ? 2 : 1;
}

/** Whether a config was marked standby by the translator: losing a conflict is then expected, not an error. */
export function isStandby(meta: ObjectMeta): boolean {
  return meta.annotations?.[ACTIVE_ANNOTATION] === "false";
}

/**
 * The config a Server currently refers to first; then the oldest object (it was there first, so it keeps serving);
 * then namespace/name. Stable across restarts and identical on every replica.
 */
function byPrecedence<T extends { metadata: ObjectMeta }>(configs: readonly T[]): T[] {
  return [...configs].sort((a, b) => {
    const active = activeRank(a.metadata) - activeRank(b.metadata);
    if (active !== 0) return active;
    const age = creationTime(a.metadata) - creationTime(b.metadata);
    if (age !== 0 && !Number.isNaN(age)) return age;
    const ka = objectKey(a.metadata);
    const kb = objectKey(b.metadata);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

function collectConflicts<T>(kind: ConfigKind, identifierKind: IdentifierKind, claims: Claims<T>, into: IdentifierConflict[]): void {
  for (const [identifier, keys] of claims.claimants) {
    if (keys.length > 1) into.push({ kind, identifierKind, identifier, winner: keys[0]!, losers: keys.slice(1) });
  }
}

export interface SecretEntry {
  key: string;
  object: Secret;
  values: Map<string, string>;
}

export class BootIndex {
  readonly ipxeByUuid = newClaims<IPXEBootConfig>();
  readonly ipxeByIp = newClaims<IPXEBootConfig>();
  readonly httpByUuid = newClaims<HTTPBootConfig>();
  readonly httpByIp = newClaims<HTTPBootConfig>();
  readonly httpByMac = newClaims<HTTPBootConfig>();
  /** Byte-swapped UUIDs, consulted only after an exact miss; never a conflict source. */
  private readonly ipxeBySwappedUuid = new Map<string, IPXEBootConfig>();
  private readonly httpBySwappedUuid = new Map<string, HTTPBootConfig>();
  readonly secrets = new Map<string, SecretEntry>();
  /** secret namespace/name → configs referencing it, so a Secret change re-reconciles exactly those. */
  readonly configsBySecret = new Map<string, { kind: ConfigKind; key: string }[]>();
  readonly conflicts: IdentifierConflict[] = [];
  readonly ipxeBootConfigs: readonly IPXEBootConfig[];
  readonly httpBootConfigs: readonly HTTPBootConfig[];
  readonly ipxeByKey = new Map<string, IPXEBootConfig>();
  readonly httpByKey = new Map<string, HTTPBootConfig>();

  constructor(snapshot: ResourceSnapshot) {
    this.ipxeBootConfigs = byPrecedence(snapshot.ipxeBootConfigs);
    this.httpBootConfigs = byPrecedence(snapshot.httpBootConfigs);
    for (const config of this.ipxeBootConfigs) {
      const key = objectKey(config.metadata);
      this.ipxeByKey.set(key, config);
      const uuid = config.spec.systemUUID === undefined ? null : canonicalUuid(config.spec.systemUUID);
      if (uuid) claim(this.ipxeByUuid, uuid, key, config);
      for (const ip of config.spec.systemIPs ?? []) {
        const canonical = canonicalIp(ip);
        if (canonical) claim(this.ipxeByIp, canonical, key, config);
      }
    }
    for (const config of this.httpBootConfigs) {
      const key = objectKey(config.metadata);
      this.httpByKey.set(key, config);
      const uuid = config.spec.systemUUID === undefined ? null : canonicalUuid(config.spec.systemUUID);
      if (uuid) claim(this.httpByUuid, uuid, key, config);
      for (const raw of config.spec.networkIdentifiers ?? []) {
        const identifier = canonicalNetworkIdentifier(raw);
        if (identifier?.kind === "ip") claim(this.httpByIp, identifier.value, key, config);
        if (identifier?.kind === "mac") claim(this.httpByMac, identifier.value, key, config);
      }
    }
    for (const [uuid, config] of this.ipxeByUuid.byIdentifier) {
      const swapped = swapUuidByteOrder(uuid);
      if (!this.ipxeBySwappedUuid.has(swapped)) this.ipxeBySwappedUuid.set(swapped, config);
    }
    for (const [uuid, config] of this.httpByUuid.byIdentifier) {
      const swapped = swapUuidByteOrder(uuid);
      if (!this.httpBySwappedUuid.has(swapped)) this.httpBySwappedUuid.set(swapped, config);
    }
    collectConflicts("IPXEBootConfig", "uuid", this.ipxeByUuid, this.conflicts);
    collectConflicts("IPXEBootConfig", "ip", this.ipxeByIp, this.conflicts);
    collectConflicts("HTTPBootConfig", "uuid", this.httpByUuid, this.conflicts);
    collectConflicts("HTTPBootConfig", "ip", this.httpByIp, this.conflicts);
    collectConflicts("HTTPBootConfig", "mac", this.httpByMac, this.conflicts);
    const reference = (kind: ConfigKind, config: IPXEBootConfig | HTTPBootConfig, secretName: string | undefined): void => {
      if (!secretName) return;
      const secretKey = objectKey({ name: secretName, namespace: config.metadata.namespace });
      const list = this.configsBySecret.get(secretKey) ?? [];
      const key = objectKey(config.metadata);
      if (!list.some((entry) => entry.kind === kind && entry.key === key)) list.push({ kind, key });
      this.configsBySecret.set(secretKey, list);
    };
    for (const config of this.ipxeBootConfigs) {
      reference("IPXEBootConfig", config, config.spec.ignitionSecretRef?.name);
      reference("IPXEBootConfig", config, config.spec.ipxeScriptSecretRef?.name);
    }
    for (const config of this.httpBootConfigs) reference("HTTPBootConfig", config, config.spec.ignitionSecretRef?.name);
    for (const object of snapshot.secrets) {
      const key = objectKey(object.metadata);
      this.secrets.set(key, { key, object, values: secretValues(object) });
    }
  }

  get configCount(): number {
    return this.ipxeBootConfigs.length + this.httpBootConfigs.length;
  }

  /** Conflicts in which the given config lost, for its status / for `validate`. */
  conflictsLostBy(kind: ConfigKind, key: string): IdentifierConflict[] {
    return this.conflicts.filter((conflict) => conflict.kind === kind && conflict.losers.includes(key));
  }

  ipxeByUuidLookup(rawUuid: string): Match<IPXEBootConfig> | null {
    return lookupUuid(rawUuid, this.ipxeByUuid.byIdentifier, this.ipxeBySwappedUuid);
  }

  httpByUuidLookup(rawUuid: string): Match<HTTPBootConfig> | null {
    return lookupUuid(rawUuid, this.httpByUuid.byIdentifier, this.httpBySwappedUuid);
  }

  ipxeByIpLookup(rawIp: string): Match<IPXEBootConfig> | null {
    const ip = canonicalIp(rawIp);
    const config = ip ? this.ipxeByIp.byIdentifier.get(ip) : undefined;
    return config && ip ? { config, key: objectKey(config.metadata), reason: "ip", identifier: ip } : null;
  }

  /** An IP or MAC, as found in networkIdentifiers or X-Forwarded-For. */
  httpByNetworkIdentifier(raw: string): Match<HTTPBootConfig> | null {
    const identifier = canonicalNetworkIdentifier(raw);
    if (!identifier) return null;
    const table = identifier.kind === "ip" ? this.httpByIp : this.httpByMac;
    const config = table.byIdentifier.get(identifier.value);
    return config ? { config, key: objectKey(config.metadata), reason: identifier.kind, identifier: identifier.value } : null;
  }

  secret(namespace: string, name: string): SecretEntry | undefined {
    return this.secrets.get(`${namespace}/${name}`);
  }
}

function lookupUuid<T extends { metadata: ObjectMeta }>(rawUuid: string, exact: Map<string, T>, swapped: Map<string, T>): Match<T> | null {
  const uuid = canonicalUuid(rawUuid);
  if (!uuid) return null;
  const direct = exact.get(uuid);
  if (direct) return { config: direct, key: objectKey(direct.metadata), reason: "uuid", identifier: uuid };
  const other = swapped.get(uuid);
  if (other) return { config: other, key: objectKey(other.metadata), reason: "uuid-byte-swapped", identifier: uuid };
  return null;
}

export function describeConflict(conflict: IdentifierConflict): string {
  return `${conflict.kind}s ${[conflict.winner, ...conflict.losers].join(", ")} all claim ${conflict.identifierKind} ${conflict.identifier}; ${conflict.winner} is served (active for its Server, then oldest, then by namespace/name)`;
}
