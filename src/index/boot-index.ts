// The in-memory lookup tables the boot routes read. Built once per change of the resource set (never per
// request) and then only read, so a request sees one consistent snapshot without locking.
// Who gets a machine when several configs claim one identifier is a security decision (the winner's script and
// Ignition, SSH keys included, are what the machine boots): see rankClaimants for the rules and why each holds.

import { canonicalIp, canonicalMac, canonicalNetworkIdentifier, canonicalSerial, canonicalUuid, swapUuidByteOrder } from "../api/canonical.ts";
import {
  DEFAULT_NAMESPACE,
  type HTTPBootConfig,
  type IPXEBootConfig,
  type ObjectMeta,
  objectKey,
  type Secret,
  type SecretValues,
  type SwitchBootConfig,
  secretValues,
} from "../api/index.ts";

export type ConfigKind = "IPXEBootConfig" | "HTTPBootConfig" | "SwitchBootConfig";
type IdentifierKind = "uuid" | "ip" | "mac" | "serial";
type AnyConfig = IPXEBootConfig | HTTPBootConfig | SwitchBootConfig;

/**
 * What a config is to the metal-operator translator, as verified by the Kubernetes source (never read from the
 * config alone): "active" is the translator's child that its Server boots now, "standby" the one it does not.
 */
export type TranslatorRole = "active" | "standby";

export interface ResourceSnapshot {
  ipxeBootConfigs: readonly IPXEBootConfig[];
  httpBootConfigs: readonly HTTPBootConfig[];
  /** Optional so that snapshots built before switches existed (tests, tools) still read as "none". */
  switchBootConfigs?: readonly SwitchBootConfig[];
  secrets: readonly Secret[];
  /**
   * Directory mode: in which order this process first saw each config (configId → rank, lower = earlier; one load
   * ranks by path, then document index). Replaces metadata.creationTimestamp, which a file can claim freely.
   */
  firstSeen?: ReadonlyMap<string, number>;
  /** configId → role, for configs the translator verifiably owns. Absent or empty: the active annotation counts nowhere. */
  translatorRoles?: ReadonlyMap<string, TranslatorRole>;
  /**
   * Kubernetes mode: configs whose status, written by this appliance at their current generation, says they held
   * every identifier they claim. They count as holders when this process has no holder of its own for an identifier
   * (after a restart), so a restart cannot hand a machine to a config that was edited to claim it.
   */
  heldBefore?: ReadonlySet<string>;
  /** Names this snapshot for a later one's `delta` (unique per process: nextSnapshotSerial). */
  serial?: number;
  /** What differs from the snapshot numbered `delta.since`, so the index need not compare every config. */
  delta?: SnapshotDelta;
}

/** Per kind, key → the object now, or undefined when it was removed; keys not listed are the same objects as before. */
export interface SnapshotDelta {
  since: number;
  ipxeBootConfigs: ReadonlyMap<string, IPXEBootConfig | undefined>;
  httpBootConfigs: ReadonlyMap<string, HTTPBootConfig | undefined>;
  secrets: ReadonlyMap<string, Secret | undefined>;
}

let lastSnapshotSerial = 0;

/** A fresh serial for a snapshot a source emits. */
export function nextSnapshotSerial(): number {
  return ++lastSnapshotSerial;
}

/** "Kind/namespace/name": how snapshots name one config in firstSeen, translatorRoles and heldBefore. */
export function configId(kind: ConfigKind, key: string): string {
  return `${kind}/${key}`;
}

/** cluster: one holder per identifier across all namespaces; namespace: a namespace never takes another's identifier. */
type ClaimScope = "cluster" | "namespace";
export const CLAIM_SCOPES: readonly ClaimScope[] = ["cluster", "namespace"];

export interface BootIndexOptions {
  claimScope?: ClaimScope;
  /** Always build from scratch, never patch the previous index (tests compare both ways). */
  fullBuild?: boolean;
}

/**
 * Why a loser lost to the winner: the first rule of rankClaimants on which they differ.
 * active: the winner is the translator's active config; holder: the winner already held the identifier;
 * standby: the loser is the translator's standby config; first-seen / created: the winner was seen / created first;
 * name: namespace/name order; namespace: another namespace holds the identifier (--claim-scope namespace).
 */
type LossReason = "active" | "holder" | "standby" | "first-seen" | "created" | "name" | "namespace";

/** Two or more configs of one kind claim the same identifier; `winner` is served, `losers` are not for it. */
interface IdentifierConflict {
  kind: ConfigKind;
  identifierKind: IdentifierKind;
  /** Canonical; for a UUID the winner's form (claimants may use its SMBIOS byte-swapped form). */
  identifier: string;
  winner: string;
  losers: string[];
  /** Why each loser lost, in the order of `losers`. */
  reasons: LossReason[];
}

/** "default": no config names the machine, and --default-ipxe-config names the one it gets. */
type MatchReason = "uuid" | "uuid-byte-swapped" | "ip" | "mac" | "mac-via-httpbootconfig" | "default" | "serial";

export interface Match<T> {
  config: T;
  key: string;
  reason: MatchReason;
  /** The canonical identifier that matched. */
  identifier: string;
}

/** One config claiming one identifier, as the precedence rules see it. */
export interface Claimant {
  key: string;
  namespace: string;
  /** Verified by the source; undefined for every hand-made config whatever its annotations say. */
  role: TranslatorRole | undefined;
  /** It held this identifier in the previous generation (or, after a restart, its status says so). */
  holder: boolean;
  /** Lower is older: first-seen rank (directory mode) or creation time in ms (Kubernetes); Infinity when unknown. */
  age: number;
}

interface Ranking {
  winner: Claimant;
  losers: { claimant: Claimant; reason: LossReason }[];
}

type Rule = { reason: LossReason; compare: (a: Claimant, b: Claimant) => number };

const first =
  (test: (claimant: Claimant) => boolean) =>
  (a: Claimant, b: Claimant): number =>
    Number(test(b)) - Number(test(a));

// metal-operator moves a machine between workload and maintenance by pointing its Server at another SBC; only the
// translator's child of that SBC carries this role, so no config author can take it.
const ACTIVE_RULE: Rule = { reason: "active", compare: first((claimant) => claimant.role === "active") };
// A config that serves a machine keeps it: a newcomer cannot take it by name, timestamp or annotation.
const HOLDER_RULE: Rule = { reason: "holder", compare: first((claimant) => claimant.holder) };
const STANDBY_RULE: Rule = { reason: "standby", compare: first((claimant) => claimant.role !== "standby") };
const NAME_RULE: Rule = { reason: "name", compare: (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) };

function ageRule(reason: "first-seen" | "created"): Rule {
  return { reason, compare: (a, b) => (a.age === b.age ? 0 : a.age < b.age ? -1 : 1) };
}

function compareBy(ordered: readonly Rule[], a: Claimant, b: Claimant): number {
  for (const rule of ordered) {
    const result = rule.compare(a, b);
    if (result !== 0) return result;
  }
  return 0;
}

/**
 * The first rule on which the winner beats the loser. Holding is named only when it decided: a winner that would
 * win without it keeps the reason it won by in the first place, so the reason (and the status message carrying it)
 * stays the same from the first generation on and across restarts, instead of turning into "holder" once the
 * winner has held the identifier for one generation (a needless status write on every loser).
 */
function lossReason(ordered: readonly Rule[], winner: Claimant, loser: Claimant): LossReason {
  const decisive = ordered.find((rule) => rule.compare(winner, loser) !== 0);
  if (decisive === HOLDER_RULE) {
    const withoutHolding = ordered.filter((rule) => rule !== HOLDER_RULE);
    if (compareBy(withoutHolding, winner, loser) < 0) return lossReason(withoutHolding, winner, loser);
  }
  return decisive?.reason ?? "name";
}

/**
 * Who of several configs claiming one identifier is served. Pure, and the same on every replica for the same inputs.
 *  1. the translator's active config (verified: owned by the SBC its Server refers to, claiming only that Server's
 *     identifiers) — never a config that merely carries the annotation;
 *  2. the holder: the config that served the identifier in the previous generation;
 *  3. anything but the translator's standby config;
 *  4. the oldest: Kubernetes creationTimestamp (set by the API server), or in directory mode the order this process
 *     first saw the config (file timestamps and metadata are the author's to forge);
 *  5. namespace/name.
 * With scope "namespace" one namespace holds the identifier first — the holder's, else the oldest claimant's, no
 * matter any role — and claimants from other namespaces always lose.
 */
export function rankClaimants(claimants: readonly Claimant[], scope: ClaimScope, ageReason: "first-seen" | "created" = "created"): Ranking {
  const age = ageRule(ageReason);
  const ordered = [ACTIVE_RULE, HOLDER_RULE, STANDBY_RULE, age, NAME_RULE];
  let sorted = [...claimants].sort((a, b) => compareBy(ordered, a, b));
  let holdingNamespace: string | undefined;
  if (scope === "namespace") {
    // No role moves an identifier into another namespace: the holder's namespace, else the oldest claimant's.
    const [holderOrOldest] = [...claimants].sort((a, b) => compareBy([HOLDER_RULE, age, NAME_RULE], a, b));
    holdingNamespace = holderOrOldest?.namespace;
    const inside = sorted.filter((claimant) => claimant.namespace === holdingNamespace);
    sorted = [...inside, ...sorted.filter((claimant) => claimant.namespace !== holdingNamespace)];
  }
  const [winner, ...rest] = sorted;
  if (!winner) throw new Error("rankClaimants: no claimants");
  return {
    winner,
    losers: rest.map((claimant) => ({
      claimant,
      reason: holdingNamespace !== undefined && claimant.namespace !== holdingNamespace ? "namespace" : lossReason(ordered, winner, claimant),
    })),
  };
}

interface Claims<T> {
  /** The winner's config per identifier (for UUIDs, per byte-order family: see uuidFamily). */
  byIdentifier: Map<string, T>;
  /**
   * Every key claiming a contested identifier (two or more), the winner first. An identifier with one claimant
   * has no entry: its claimant is the winner's key (BootIndex.claimantKeys). At 10 000 machines that is five maps
   * and 50 000 one-key arrays fewer per index.
   */
  claimants: Map<string, [winner: string, ...others: string[]]>;
}

function newClaims<T>(): Claims<T> {
  return { byIdentifier: new Map(), claimants: new Map() };
}

/** The previous index's maps, shared until this index first writes one (BootIndex.writable). */
function shareClaims<T>(claims: Claims<T>): Claims<T> {
  return { byIdentifier: claims.byIdentifier, claimants: claims.claimants };
}

/** Inverse of the "table identifier" strings BootIndex's patch compares claims by. */
function splitClaim(entry: string): [TableName, string] {
  const space = entry.indexOf(" ");
  return [entry.slice(0, space) as TableName, entry.slice(space + 1)];
}

/**
 * A UUID and its SMBIOS byte-swapped form name one machine (firmware disagrees on the byte order), so they are one
 * identifier for conflicts: otherwise a config claiming the swapped form exactly would beat the machine's own
 * config for requests in that form.
 */
function uuidFamily(canonical: string): string {
  const swapped = swapUuidByteOrder(canonical);
  return swapped < canonical ? swapped : canonical;
}

function creationTime(meta: ObjectMeta): number {
  const stamp = meta.creationTimestamp;
  if (stamp === undefined) return Number.POSITIVE_INFINITY;
  const millis = stamp instanceof Date ? stamp.getTime() : Date.parse(stamp);
  return Number.isNaN(millis) ? Number.POSITIVE_INFINITY : millis;
}

/**
 * Set by the metal-operator translator on the configs it generates: "true" on the one the Server currently refers
 * to (workload or maintenance), "false" on the other. It counts only where the source verified the translator owns
 * the config (ResourceSnapshot.translatorRoles); on any other config it means nothing.
 */
export const ACTIVE_ANNOTATION = "boot.ironcore.dev/active";

function byKey<T extends { metadata: ObjectMeta }>(configs: readonly T[]): T[] {
  return [...configs].sort((a, b) => {
    const ka = objectKey(a.metadata);
    const kb = objectKey(b.metadata);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

export interface SecretEntry {
  key: string;
  object: Secret;
  values: SecretValues;
}

type ServerTable = "ipxeByUuid" | "ipxeByIp" | "httpByUuid" | "httpByIp" | "httpByMac";
type SwitchTable = "switchBySerial" | "switchByMac" | "switchByIp";
type TableName = ServerTable | SwitchTable;

const TABLE_KINDS: Record<TableName, [ConfigKind, IdentifierKind]> = {
  ipxeByUuid: ["IPXEBootConfig", "uuid"],
  ipxeByIp: ["IPXEBootConfig", "ip"],
  httpByUuid: ["HTTPBootConfig", "uuid"],
  httpByIp: ["HTTPBootConfig", "ip"],
  httpByMac: ["HTTPBootConfig", "mac"],
  switchBySerial: ["SwitchBootConfig", "serial"],
  switchByMac: ["SwitchBootConfig", "mac"],
  switchByIp: ["SwitchBootConfig", "ip"],
};

type ServerConfig = IPXEBootConfig | HTTPBootConfig;
/** Patched incrementally from the previous index. */
const SERVER_TABLES: readonly ServerTable[] = ["ipxeByUuid", "ipxeByIp", "httpByUuid", "httpByIp", "httpByMac"];
/** Rebuilt in full on every build: switches are few, and their snapshot deltas are not tracked. */
const SWITCH_TABLES: readonly SwitchTable[] = ["switchBySerial", "switchByMac", "switchByIp"];
const TABLES: readonly TableName[] = [...SERVER_TABLES, ...SWITCH_TABLES];

/** The identifiers one config claims, per table (canonical; UUIDs by byte-order family). */
function claimedIdentifiers(kind: ConfigKind, config: AnyConfig): [TableName, string][] {
  const claimed: [TableName, string][] = [];
  if (kind === "SwitchBootConfig") {
    const spec = (config as SwitchBootConfig).spec;
    const serial = spec.serialNumber === undefined ? null : canonicalSerial(spec.serialNumber);
    if (serial) claimed.push(["switchBySerial", serial]);
    for (const raw of spec.macAddresses ?? []) {
      const mac = canonicalMac(raw);
      if (mac) claimed.push(["switchByMac", mac]);
    }
    for (const raw of spec.systemIPs ?? []) {
      const ip = canonicalIp(raw);
      if (ip) claimed.push(["switchByIp", ip]);
    }
    return claimed;
  }
  const server = config as ServerConfig;
  const uuid = server.spec.systemUUID === undefined ? null : canonicalUuid(server.spec.systemUUID);
  if (kind === "IPXEBootConfig") {
    if (uuid) claimed.push(["ipxeByUuid", uuidFamily(uuid)]);
    for (const ip of (config as IPXEBootConfig).spec.systemIPs ?? []) {
      const canonical = canonicalIp(ip);
      if (canonical) claimed.push(["ipxeByIp", canonical]);
    }
    return claimed;
  }
  if (uuid) claimed.push(["httpByUuid", uuidFamily(uuid)]);
  for (const raw of (config as HTTPBootConfig).spec.networkIdentifiers ?? []) {
    const identifier = canonicalNetworkIdentifier(raw);
    if (identifier?.kind === "ip") claimed.push(["httpByIp", identifier.value]);
    if (identifier?.kind === "mac") claimed.push(["httpByMac", identifier.value]);
  }
  return claimed;
}

/** The secrets a config references (ignition, custom iPXE script, switch ZTP payloads), as namespace/name. */
function referencedSecrets(kind: ConfigKind, config: AnyConfig): string[] {
  let names: (string | undefined)[];
  if (kind === "IPXEBootConfig") {
    const spec = (config as IPXEBootConfig).spec;
    names = [spec.ignitionSecretRef?.name, spec.ipxeScriptSecretRef?.name];
  } else if (kind === "HTTPBootConfig") names = [(config as HTTPBootConfig).spec.ignitionSecretRef?.name];
  else {
    const spec = (config as SwitchBootConfig).spec;
    names = [spec.sonic?.ztpJSONSecretRef?.name, spec.provisioningScriptSecretRef?.name, spec.startupConfigSecretRef?.name];
  }
  const keys: string[] = [];
  for (const name of names) if (name) keys.push(objectKey({ name, namespace: config.metadata.namespace }));
  return keys;
}

/** Configs of one kind whose object differs between two generations (added, replaced or removed), by key. */
function changedKeys<T>(previous: ReadonlyMap<string, T>, next: ReadonlyMap<string, T>): string[] {
  const changed: string[] = [];
  for (const [key, config] of next) if (previous.get(key) !== config) changed.push(key);
  if (previous.size > next.size - changed.length) for (const key of previous.keys()) if (!next.has(key)) changed.push(key);
  return changed;
}

/** A copy of `base` with the delta's entries set (or deleted where undefined). */
function patchMap<T>(base: ReadonlyMap<string, T>, changes: ReadonlyMap<string, T | undefined>): Map<string, T> {
  const result = new Map(base);
  for (const [key, value] of changes) {
    if (value === undefined) result.delete(key);
    else result.set(key, value);
  }
  return result;
}

/** Above this many changed configs a full build is as cheap as patching the previous index. */
function incrementalLimit(total: number): number {
  return Math.max(64, total >> 3);
}

/** `sorted` (by key) with the configs at `changed` replaced, added or removed as `byKeyMap` has them now. */
function patchSorted<T extends ServerConfig>(sorted: readonly T[], changed: readonly string[], byKeyMap: ReadonlyMap<string, T>): T[] {
  const result = [...sorted];
  for (const key of changed) {
    let low = 0;
    let high = result.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      const probe = result[middle];
      if (probe && objectKey(probe.metadata) < key) low = middle + 1;
      else high = middle;
    }
    const at = result[low];
    const present = at !== undefined && objectKey(at.metadata) === key;
    const config = byKeyMap.get(key);
    if (config && present) result[low] = config;
    else if (config) result.splice(low, 0, config);
    else if (present) result.splice(low, 1);
  }
  return result;
}

/**
 * namespace/name of every server config, computed once per object and shared by every index that holds it (a
 * per-index map would cost a full pass per patched build); weak, so removed configs are not kept alive.
 */
const keyOfConfig = new WeakMap<AnyConfig, string>();

function rememberKey(config: ServerConfig, key: string): void {
  keyOfConfig.set(config, key);
}

/**
 * The config's remembered key, made (and remembered) on first sight: every map and claimant list of every index
 * then holds this one string, not a copy per use (objectKey builds a new one each call; 3 copies per config cost
 * ~2.5 MiB at 20 000 configs).
 */
function sharedKeyOf(config: AnyConfig): string {
  let key = keyOfConfig.get(config);
  if (key === undefined) {
    key = objectKey(config.metadata);
    keyOfConfig.set(config, key);
  }
  return key;
}

export class BootIndex {
  readonly ipxeByUuid: Claims<IPXEBootConfig>;
  readonly ipxeByIp: Claims<IPXEBootConfig>;
  readonly httpByUuid: Claims<HTTPBootConfig>;
  readonly httpByIp: Claims<HTTPBootConfig>;
  readonly httpByMac: Claims<HTTPBootConfig>;
  /** Switches, by the serial number, MACs and IPs their ZTP clients present (same claim rules as the servers). */
  readonly switchBySerial: Claims<SwitchBootConfig> = newClaims();
  readonly switchByMac: Claims<SwitchBootConfig> = newClaims();
  readonly switchByIp: Claims<SwitchBootConfig> = newClaims();
  readonly secrets: Map<string, SecretEntry>;
  private secretReferences: Map<string, { kind: ConfigKind; key: string }[]>;
  /** In table order (ipxeByUuid … httpByMac, switchBySerial … switchByIp), then by identifier: the same for the same resources, however built. */
  readonly conflicts: IdentifierConflict[] = [];
  readonly ipxeBootConfigs: readonly IPXEBootConfig[];
  readonly httpBootConfigs: readonly HTTPBootConfig[];
  readonly ipxeByKey: Map<string, IPXEBootConfig>;
  readonly httpByKey: Map<string, HTTPBootConfig>;
  readonly switchBootConfigs: readonly SwitchBootConfig[];
  readonly switchByKey = new Map<string, SwitchBootConfig>();
  /** The serial of the snapshot this index was built from. */
  readonly serial: number | undefined;
  readonly claimScope: ClaimScope;
  /** True when this index was patched from the one it replaces rather than built from scratch (tests, metrics). */
  readonly builtIncrementally: boolean;
  private readonly translatorRoles: ReadonlyMap<string, TranslatorRole>;
  /**
   * The served config per UUID exactly as it declares it (canonical): the request path's common case, one Map get.
   * Keys built once here, not per request: a key made by concatenation per request had to be flattened and hashed
   * again (the byte-swap family key alone cost ~1 µs per /ipxe and /ignition request). A full build makes one
   * pass over the UUID winners; a patched one changes the entries of the families whose winner changed (the
   * full pass was ~25 ms of every change at 10 000 machines).
   */
  private readonly ipxeByDeclaredUuid: DeclaredUuids<IPXEBootConfig>;
  private readonly httpByDeclaredUuid: DeclaredUuids<HTTPBootConfig>;
  /** Stands for this index in a later one's `builtFrom`, without keeping the index itself alive. */
  private readonly identity = {};
  private readonly builtFrom: object | undefined;
  /** The Secret keys the snapshot's delta changed, when built from the previous index by one. */
  private readonly changedSecretKeys: readonly string[] | undefined;
  /** While patching: the UUID families whose winner was set or removed. */
  private changedUuidFamilies: Record<"ipxeByUuid" | "httpByUuid", Set<string>> | undefined;
  /**
   * The IPXEBootConfig and HTTPBootConfig keys that differ from `previous` (added, changed or removed), so what is
   * derived from the configs can be patched too; undefined when built without a previous index.
   */
  readonly changedConfigs: { ipxe: readonly string[]; http: readonly string[] } | undefined;
  /** Identifiers with two or more claimants, per table. */
  private readonly contested: Record<TableName, Set<string>>;
  /**
   * While patching: the maps this index owns. The others are still the previous index's, shared until the first
   * write (copy on write), so a change to one IPXEBootConfig copies the two IPXE tables it touches, not all ten.
   */
  private owned: Set<Map<string, unknown>> | undefined;

  /**
   * `previous`: the index this one replaces; its holders keep their identifiers (rankClaimants rule 2). When only
   * a few configs differ from `previous` (by object identity: sources hand over unchanged objects as they were),
   * the server lookup tables are copied from it and patched for those configs alone; the switch tables are built
   * from scratch every time; every contested identifier is ranked again either way, since roles, holders and ages
   * can change without a config changing.
   */
  constructor(snapshot: ResourceSnapshot, previous?: BootIndex, options: BootIndexOptions = {}) {
    this.claimScope = options.claimScope ?? "cluster";
    this.translatorRoles = snapshot.translatorRoles ?? new Map();
    this.serial = snapshot.serial;
    // With a delta from the snapshot `previous` was built from, only the listed keys are looked at.
    const delta = previous && snapshot.delta && previous.serial !== undefined && snapshot.delta.since === previous.serial ? snapshot.delta : undefined;
    let changedIpxe: string[];
    let changedHttp: string[];
    if (previous && delta) {
      this.ipxeByKey = patchMap(previous.ipxeByKey, delta.ipxeBootConfigs);
      this.httpByKey = patchMap(previous.httpByKey, delta.httpBootConfigs);
      changedIpxe = [...delta.ipxeBootConfigs.keys()];
      changedHttp = [...delta.httpBootConfigs.keys()];
    } else {
      this.ipxeByKey = new Map();
      this.httpByKey = new Map();
      for (const config of snapshot.ipxeBootConfigs) this.ipxeByKey.set(sharedKeyOf(config), config);
      for (const config of snapshot.httpBootConfigs) this.httpByKey.set(sharedKeyOf(config), config);
      changedIpxe = previous ? changedKeys(previous.ipxeByKey, this.ipxeByKey) : [];
      changedHttp = previous ? changedKeys(previous.httpByKey, this.httpByKey) : [];
    }
    this.switchBootConfigs = byKey(snapshot.switchBootConfigs ?? []);
    for (const config of this.switchBootConfigs) this.switchByKey.set(objectKey(config.metadata), config);
    const base =
      previous &&
      !options.fullBuild &&
      previous.claimScope === this.claimScope &&
      changedIpxe.length + changedHttp.length <= incrementalLimit(this.ipxeByKey.size + this.httpByKey.size)
        ? previous
        : undefined;
    this.builtIncrementally = base !== undefined;
    this.changedConfigs = previous ? { ipxe: changedIpxe, http: changedHttp } : undefined;
    this.contested = {
      ipxeByUuid: new Set(),
      ipxeByIp: new Set(),
      httpByUuid: new Set(),
      httpByIp: new Set(),
      httpByMac: new Set(),
      switchBySerial: new Set(),
      switchByMac: new Set(),
      switchByIp: new Set(),
    };
    if (base) {
      this.owned = new Set();
      this.changedUuidFamilies = { ipxeByUuid: new Set(), httpByUuid: new Set() };
      this.ipxeByUuid = shareClaims(base.ipxeByUuid);
      this.ipxeByIp = shareClaims(base.ipxeByIp);
      this.httpByUuid = shareClaims(base.httpByUuid);
      this.httpByIp = shareClaims(base.httpByIp);
      this.httpByMac = shareClaims(base.httpByMac);
      // The switch tables are this index's own from the start.
      for (const table of SWITCH_TABLES) {
        this.owned.add(this[table].byIdentifier);
        this.owned.add(this[table].claimants);
      }
      this.secretReferences = base.secretReferences;
      this.ipxeBootConfigs = patchSorted(base.ipxeBootConfigs, changedIpxe, this.ipxeByKey);
      this.httpBootConfigs = patchSorted(base.httpBootConfigs, changedHttp, this.httpByKey);
      const touched: Record<ServerTable, Set<string>> = {
        ipxeByUuid: new Set(),
        ipxeByIp: new Set(),
        httpByUuid: new Set(),
        httpByIp: new Set(),
        httpByMac: new Set(),
      };
      const patchReferences = (kind: ConfigKind, key: string, before: AnyConfig | undefined, after: AnyConfig | undefined): void => {
        const referencedBefore = new Set(before ? referencedSecrets(kind, before) : []);
        const referencedAfter = new Set(after ? referencedSecrets(kind, after) : []);
        for (const secretKey of referencedBefore) if (!referencedAfter.has(secretKey)) this.unreference(secretKey, kind, key);
        for (const secretKey of referencedAfter) if (!referencedBefore.has(secretKey)) this.reference(secretKey, kind, key);
      };
      // Only what differs is written: a kernel URL change keeps every claim and reference as it was.
      const patch = (kind: ConfigKind, key: string, before: ServerConfig | undefined, after: ServerConfig | undefined): void => {
        const claimedBefore = new Set((before ? claimedIdentifiers(kind, before) : []).map(([table, identifier]) => `${table} ${identifier}`));
        const claimedAfter = new Set((after ? claimedIdentifiers(kind, after) : []).map(([table, identifier]) => `${table} ${identifier}`));
        for (const entry of claimedBefore) {
          const [table, identifier] = splitClaim(entry);
          if (!claimedAfter.has(entry)) this.release(table, identifier, key);
          touched[table as ServerTable].add(identifier);
        }
        for (const entry of claimedAfter) {
          const [table, identifier] = splitClaim(entry);
          if (after && !claimedBefore.has(entry)) this.claimFor(table, identifier, key, after);
          touched[table as ServerTable].add(identifier);
        }
        patchReferences(kind, key, before, after);
        if (after) rememberKey(after, key);
      };
      for (const key of changedIpxe) patch("IPXEBootConfig", key, base.ipxeByKey.get(key), this.ipxeByKey.get(key));
      for (const key of changedHttp) patch("HTTPBootConfig", key, base.httpByKey.get(key), this.httpByKey.get(key));
      for (const key of changedKeys(base.switchByKey, this.switchByKey)) {
        patchReferences("SwitchBootConfig", key, base.switchByKey.get(key), this.switchByKey.get(key));
      }
      for (const table of SERVER_TABLES) {
        for (const identifier of [...base.contested[table], ...touched[table]]) {
          const keys = this.claimantKeys(table, identifier);
          if (keys.length === 0) continue;
          if (keys.length > 1) this.contested[table].add(identifier);
          else this.setWinner(table, identifier, this.configByKey(table, keys[0]));
        }
      }
    } else {
      this.ipxeByUuid = newClaims();
      this.ipxeByIp = newClaims();
      this.httpByUuid = newClaims();
      this.httpByIp = newClaims();
      this.httpByMac = newClaims();
      this.secretReferences = new Map();
      this.ipxeBootConfigs = byKey(snapshot.ipxeBootConfigs);
      this.httpBootConfigs = byKey(snapshot.httpBootConfigs);
      const add = (kind: ConfigKind, config: ServerConfig): void => {
        const key = sharedKeyOf(config);
        for (const [table, identifier] of claimedIdentifiers(kind, config)) this.claimFor(table, identifier, key, config);
        for (const secretKey of referencedSecrets(kind, config)) this.reference(secretKey, kind, key);
      };
      for (const config of this.ipxeBootConfigs) add("IPXEBootConfig", config);
      for (const config of this.httpBootConfigs) add("HTTPBootConfig", config);
      for (const config of this.switchBootConfigs) {
        for (const secretKey of referencedSecrets("SwitchBootConfig", config)) this.reference(secretKey, "SwitchBootConfig", objectKey(config.metadata));
      }
      for (const table of SERVER_TABLES) {
        for (const [identifier, keys] of this.tableClaims(table).claimants) if (keys.length > 1) this.contested[table].add(identifier);
      }
    }
    for (const config of this.switchBootConfigs) {
      const key = objectKey(config.metadata);
      for (const [table, identifier] of claimedIdentifiers("SwitchBootConfig", config)) this.claimFor(table, identifier, key, config);
    }
    for (const table of SWITCH_TABLES) {
      for (const [identifier, keys] of this[table].claimants) if (keys.length > 1) this.contested[table].add(identifier);
    }
    for (const table of TABLES) {
      const [kind, identifierKind] = TABLE_KINDS[table];
      const byKeyMap: ReadonlyMap<string, AnyConfig> =
        kind === "IPXEBootConfig" ? this.ipxeByKey : kind === "HTTPBootConfig" ? this.httpByKey : this.switchByKey;
      for (const identifier of [...this.contested[table]].sort()) {
        const keys = this.claimantKeys(table, identifier);
        this.resolveConflict(snapshot, previous?.claimantKeys(table, identifier)[0], table, kind, identifierKind, identifier, keys, byKeyMap);
      }
    }
    this.owned = undefined;
    const changedFamilies = this.changedUuidFamilies;
    this.changedUuidFamilies = undefined;
    if (base && changedFamilies) {
      this.ipxeByDeclaredUuid = patchDeclaredUuids(
        base.ipxeByDeclaredUuid,
        base.ipxeByUuid.byIdentifier,
        this.ipxeByUuid.byIdentifier,
        changedFamilies.ipxeByUuid,
      );
      this.httpByDeclaredUuid = patchDeclaredUuids(
        base.httpByDeclaredUuid,
        base.httpByUuid.byIdentifier,
        this.httpByUuid.byIdentifier,
        changedFamilies.httpByUuid,
      );
    } else {
      this.ipxeByDeclaredUuid = declaredUuids(this.ipxeByUuid.byIdentifier);
      this.httpByDeclaredUuid = declaredUuids(this.httpByUuid.byIdentifier);
    }
    this.builtFrom = previous?.identity;
    if (previous && delta) {
      this.secrets = new Map(previous.secrets);
      for (const [key, object] of delta.secrets) {
        if (object) this.secrets.set(key, { key, object, values: secretValues(object) });
        else this.secrets.delete(key);
      }
      // Switch configs reference secrets too, and are not in the delta: any change there and nothing is known.
      if (changedKeys(previous.switchByKey, this.switchByKey).length === 0) this.changedSecretKeys = [...delta.secrets.keys()];
    } else {
      this.secrets = new Map();
      for (const object of snapshot.secrets) {
        const key = objectKey(object.metadata);
        // The same object as before: the same entry, so caches keyed by entry see no change.
        const known = previous?.secrets.get(key);
        this.secrets.set(key, known?.object === object ? known : { key, object, values: secretValues(object) });
      }
    }
  }

  /**
   * The Secret keys whose entry or referencing changed from `previous` to this index: those the snapshot's delta
   * changed and those a changed config references. Undefined when this index was not patched from `previous` by a
   * delta (then every secret is to be looked at).
   */
  secretsChangedSince(previous: BootIndex): string[] | undefined {
    if (this.builtFrom !== previous.identity || !this.changedSecretKeys || !this.changedConfigs) return undefined;
    const keys = new Set(this.changedSecretKeys);
    for (const key of this.changedConfigs.ipxe) {
      const config = this.ipxeByKey.get(key);
      if (config) for (const secretKey of referencedSecrets("IPXEBootConfig", config)) keys.add(secretKey);
    }
    for (const key of this.changedConfigs.http) {
      const config = this.httpByKey.get(key);
      if (config) for (const secretKey of referencedSecrets("HTTPBootConfig", config)) keys.add(secretKey);
    }
    return [...keys];
  }

  /** secret namespace/name → configs referencing it, so a Secret change re-reconciles exactly those. */
  get configsBySecret(): ReadonlyMap<string, readonly { kind: ConfigKind; key: string }[]> {
    return this.secretReferences;
  }

  private tableClaims(table: TableName): Claims<AnyConfig> {
    return this[table] as Claims<AnyConfig>;
  }

  private configByKey(table: TableName, key: string | undefined): AnyConfig {
    const [kind] = TABLE_KINDS[table];
    const byKeyMap: ReadonlyMap<string, AnyConfig> = kind === "IPXEBootConfig" ? this.ipxeByKey : kind === "HTTPBootConfig" ? this.httpByKey : this.switchByKey;
    const config = key === undefined ? undefined : byKeyMap.get(key);
    if (!config) throw new Error(`BootIndex: claimant ${key} of ${table} has no config`);
    return config;
  }

  /** `map` itself when this index owns it (a full build, or copied already), else a copy this index then owns. */
  private writable<V>(map: Map<string, V>): Map<string, V> {
    if (!this.owned || this.owned.has(map)) return map;
    const copy = new Map(map);
    this.owned.add(copy);
    return copy;
  }

  private claimantsFor(table: TableName): Map<string, [string, ...string[]]> {
    const claims = this.tableClaims(table);
    claims.claimants = this.writable(claims.claimants);
    return claims.claimants;
  }

  /** The winners of `table`, writable, for a write to `identifier`. */
  private winnersFor(table: TableName, identifier: string): Map<string, AnyConfig> {
    if (table === "ipxeByUuid" || table === "httpByUuid") this.changedUuidFamilies?.[table].add(identifier);
    const claims = this.tableClaims(table);
    claims.byIdentifier = this.writable(claims.byIdentifier);
    return claims.byIdentifier;
  }

  private setWinner(table: TableName, identifier: string, config: AnyConfig): void {
    if (this.tableClaims(table).byIdentifier.get(identifier) !== config) this.winnersFor(table, identifier).set(identifier, config);
  }

  private setClaimants(table: TableName, identifier: string, keys: [string, ...string[]]): void {
    const current = this.tableClaims(table).claimants.get(identifier);
    const same = current !== undefined && current.length === keys.length && current.every((key, i) => key === keys[i]);
    if (!same) this.claimantsFor(table).set(identifier, keys);
  }

  /** The keys claiming `identifier`, the winner first: the contested list, or the one winner's key, or none. */
  private claimantKeys(table: TableName, identifier: string): readonly string[] {
    const claims = this.tableClaims(table);
    const contested = claims.claimants.get(identifier);
    if (contested) return contested;
    const winner = claims.byIdentifier.get(identifier);
    return winner ? [sharedKeyOf(winner)] : [];
  }

  /** Adds `key` to the claimants of `identifier` (a new array: the previous index may share the old one). */
  private claimFor(table: TableName, identifier: string, key: string, config: AnyConfig): void {
    const [winner, ...others] = this.claimantKeys(table, identifier);
    if (winner === undefined) this.winnersFor(table, identifier).set(identifier, config);
    else if (winner !== key && !others.includes(key)) this.claimantsFor(table).set(identifier, [winner, ...others, key]);
  }

  private release(table: TableName, identifier: string, key: string): void {
    const existing = this.claimantKeys(table, identifier);
    if (!existing.includes(key)) return;
    const [first, ...others] = existing.filter((claimant) => claimant !== key);
    if (first === undefined) {
      this.winnersFor(table, identifier).delete(identifier);
      return;
    }
    if (others.length > 0) {
      this.claimantsFor(table).set(identifier, [first, ...others]);
      return;
    }
    // One claimant left: it wins, and the identifier is no longer contested.
    if (this.tableClaims(table).claimants.has(identifier)) this.claimantsFor(table).delete(identifier);
    this.setWinner(table, identifier, this.configByKey(table, first));
  }

  private reference(secretKey: string, kind: ConfigKind, key: string): void {
    const list = this.secretReferences.get(secretKey) ?? [];
    if (list.some((entry) => entry.kind === kind && entry.key === key)) return;
    this.bySecret().set(secretKey, [...list, { kind, key }]);
  }

  private unreference(secretKey: string, kind: ConfigKind, key: string): void {
    const list = (this.secretReferences.get(secretKey) ?? []).filter((entry) => entry.kind !== kind || entry.key !== key);
    if (list.length === 0) this.bySecret().delete(secretKey);
    else this.bySecret().set(secretKey, list);
  }

  private bySecret(): Map<string, { kind: ConfigKind; key: string }[]> {
    this.secretReferences = this.writable(this.secretReferences);
    return this.secretReferences;
  }

  /** Orders the claimants of one contested identifier (rankClaimants) and records the conflict. */
  private resolveConflict(
    snapshot: ResourceSnapshot,
    previousHolder: string | undefined,
    table: TableName,
    kind: ConfigKind,
    identifierKind: IdentifierKind,
    identifier: string,
    keys: readonly string[],
    byKeyMap: ReadonlyMap<string, AnyConfig>,
  ): void {
    // The in-memory holder if it still claims the identifier; otherwise what the statuses remember (a restart).
    const holderStillClaims = previousHolder !== undefined && keys.includes(previousHolder);
    const claimants: Claimant[] = keys.map((key) => {
      const config = byKeyMap.get(key);
      const id = configId(kind, key);
      const firstSeen = snapshot.firstSeen;
      return {
        key,
        namespace: config?.metadata.namespace ?? DEFAULT_NAMESPACE,
        role: this.translatorRoles.get(id),
        holder: holderStillClaims ? key === previousHolder : snapshot.heldBefore?.has(id) === true,
        age: firstSeen ? (firstSeen.get(id) ?? Number.POSITIVE_INFINITY) : config ? creationTime(config.metadata) : Number.POSITIVE_INFINITY,
      };
    });
    const ranking = rankClaimants(claimants, this.claimScope, snapshot.firstSeen ? "first-seen" : "created");
    const winner = ranking.winner.key;
    const winnerConfig = byKeyMap.get(winner);
    if (!winnerConfig) return;
    this.setWinner(table, identifier, winnerConfig);
    this.setClaimants(table, identifier, [winner, ...ranking.losers.map((loser) => loser.claimant.key)]);
    const winnerUuid =
      identifierKind === "uuid" && "systemUUID" in winnerConfig.spec && winnerConfig.spec.systemUUID ? canonicalUuid(winnerConfig.spec.systemUUID) : null;
    this.conflicts.push({
      kind,
      identifierKind,
      identifier: winnerUuid ?? identifier,
      winner,
      losers: ranking.losers.map((loser) => loser.claimant.key),
      reasons: ranking.losers.map((loser) => loser.reason),
    });
  }

  get configCount(): number {
    return this.ipxeBootConfigs.length + this.httpBootConfigs.length + this.switchBootConfigs.length;
  }

  /** Conflicts in which the given config lost, for its status / for `validate`. */
  conflictsLostBy(kind: ConfigKind, key: string): IdentifierConflict[] {
    return this.conflicts.filter((conflict) => conflict.kind === kind && conflict.losers.includes(key));
  }

  /** Conflicts the given config won: it is served, and others claim the same identifier. */
  conflictsHeldBy(kind: ConfigKind, key: string): IdentifierConflict[] {
    return this.conflicts.filter((conflict) => conflict.kind === kind && conflict.winner === key);
  }

  /** The config's verified translator role; undefined for every config the translator does not own. */
  translatorRole(kind: ConfigKind, key: string): TranslatorRole | undefined {
    return this.translatorRoles.get(configId(kind, key));
  }

  ipxeByUuidLookup(rawUuid: string): Match<IPXEBootConfig> | null {
    return this.lookupUuid(rawUuid, this.ipxeByDeclaredUuid, this.ipxeByUuid.byIdentifier);
  }

  httpByUuidLookup(rawUuid: string): Match<HTTPBootConfig> | null {
    return this.lookupUuid(rawUuid, this.httpByDeclaredUuid, this.httpByUuid.byIdentifier);
  }

  /** The config's namespace/name (the same string every time, so maps keyed by it hash it once). */
  keyOf(config: IPXEBootConfig | HTTPBootConfig): string {
    return keyOfConfig.get(config) ?? objectKey(config.metadata);
  }

  /** The config holding the UUID's byte-order family; "uuid-byte-swapped" when it names the other byte order. */
  private lookupUuid<T extends IPXEBootConfig | HTTPBootConfig>(rawUuid: string, declared: DeclaredUuids<T>, families: Map<string, T>): Match<T> | null {
    const uuid = canonicalUuid(rawUuid);
    if (!uuid) return null;
    const changed = declared.changes.size > 0 ? declared.changes.get(uuid) : undefined;
    const exact = changed === undefined ? declared.base.get(uuid) : (changed ?? undefined);
    if (exact) return { config: exact, key: this.keyOf(exact), reason: "uuid", identifier: uuid };
    const config = families.get(uuidFamily(uuid));
    return config ? { config, key: this.keyOf(config), reason: "uuid-byte-swapped", identifier: uuid } : null;
  }

  ipxeByIpLookup(rawIp: string): Match<IPXEBootConfig> | null {
    const ip = canonicalIp(rawIp);
    const config = ip ? this.ipxeByIp.byIdentifier.get(ip) : undefined;
    return config && ip ? { config, key: this.keyOf(config), reason: "ip", identifier: ip } : null;
  }

  /** An IP or MAC, as found in networkIdentifiers or X-Forwarded-For. */
  httpByNetworkIdentifier(raw: string): Match<HTTPBootConfig> | null {
    const identifier = canonicalNetworkIdentifier(raw);
    if (!identifier) return null;
    const table = identifier.kind === "ip" ? this.httpByIp : this.httpByMac;
    const config = table.byIdentifier.get(identifier.value);
    return config ? { config, key: this.keyOf(config), reason: identifier.kind, identifier: identifier.value } : null;
  }

  /** A switch by the serial number its ZTP client reports (trimmed, case-insensitive). */
  switchBySerialLookup(rawSerial: string): Match<SwitchBootConfig> | null {
    const serial = canonicalSerial(rawSerial);
    const config = serial ? this.switchBySerial.byIdentifier.get(serial) : undefined;
    return config && serial ? { config, key: objectKey(config.metadata), reason: "serial", identifier: serial } : null;
  }

  /** A switch by a MAC in any notation canonicalMac accepts. */
  switchByMacLookup(rawMac: string): Match<SwitchBootConfig> | null {
    const mac = canonicalMac(rawMac);
    const config = mac ? this.switchByMac.byIdentifier.get(mac) : undefined;
    return config && mac ? { config, key: objectKey(config.metadata), reason: "mac", identifier: mac } : null;
  }

  switchByIpLookup(rawIp: string): Match<SwitchBootConfig> | null {
    const ip = canonicalIp(rawIp);
    const config = ip ? this.switchByIp.byIdentifier.get(ip) : undefined;
    return config && ip ? { config, key: objectKey(config.metadata), reason: "ip", identifier: ip } : null;
  }

  secret(namespace: string, name: string): SecretEntry | undefined {
    return this.secrets.get(`${namespace}/${name}`);
  }
}

/**
 * Each family's served config under the UUID it declares (either byte order of the family key): a base map shared
 * between indexes plus the changes since it was built (null: removed), so a change does not copy 10 000 entries.
 */
interface DeclaredUuids<T> {
  base: ReadonlyMap<string, T>;
  changes: ReadonlyMap<string, T | null>;
}

/** Changes carried before they are folded into a new base (each patch copies them). */
const MAX_DECLARED_UUID_CHANGES = 1024;

function declaredUuids<T extends IPXEBootConfig | HTTPBootConfig>(families: ReadonlyMap<string, T>): DeclaredUuids<T> {
  const base = new Map<string, T>();
  for (const config of families.values()) {
    const uuid = declaredUuid(config);
    if (uuid) base.set(uuid, config);
  }
  return { base, changes: new Map() };
}

/**
 * declaredUuids(after) from declaredUuids(before) when only the winners of `changed` families differ. Shared
 * when none do: no one writes a declared map after its index is built.
 */
function patchDeclaredUuids<T extends IPXEBootConfig | HTTPBootConfig>(
  previous: DeclaredUuids<T>,
  before: ReadonlyMap<string, T>,
  after: ReadonlyMap<string, T>,
  changed: ReadonlySet<string>,
): DeclaredUuids<T> {
  if (changed.size === 0) return previous;
  const changes = new Map(previous.changes);
  const current = (uuid: string): T | undefined => {
    const entry = changes.get(uuid);
    return entry === undefined ? previous.base.get(uuid) : (entry ?? undefined);
  };
  for (const family of changed) {
    const config = before.get(family);
    const uuid = config ? declaredUuid(config) : null;
    if (uuid && current(uuid) === config) changes.set(uuid, null);
  }
  for (const family of changed) {
    const config = after.get(family);
    const uuid = config ? declaredUuid(config) : null;
    if (config && uuid) changes.set(uuid, config);
  }
  if (changes.size <= MAX_DECLARED_UUID_CHANGES) return { base: previous.base, changes };
  const base = new Map(previous.base);
  for (const [uuid, config] of changes) {
    if (config) base.set(uuid, config);
    else base.delete(uuid);
  }
  return { base, changes: new Map() };
}

function declaredUuid(config: IPXEBootConfig | HTTPBootConfig): string | null {
  return config.spec.systemUUID === undefined ? null : canonicalUuid(config.spec.systemUUID);
}

function describeLoss(conflict: IdentifierConflict, loser: string, reason: LossReason): string {
  const winner = conflict.winner;
  switch (reason) {
    case "active":
      return `${winner} is the translator's active config for its Server`;
    case "holder":
      return `${winner} already holds it`;
    case "standby":
      return `${loser} is the translator's standby config`;
    case "first-seen":
      return `${winner} was loaded first`;
    case "created":
      return `${winner} is older`;
    case "name":
      return `${winner} sorts first by namespace/name`;
    case "namespace":
      return `namespace ${winner.split("/")[0]} holds it and --claim-scope is namespace`;
  }
}

export function describeConflict(conflict: IdentifierConflict): string {
  const losses = conflict.losers.map((loser, i) => `not ${loser} (${describeLoss(conflict, loser, conflict.reasons[i] ?? "name")})`);
  return `${conflict.kind}s ${[conflict.winner, ...conflict.losers].join(", ")} all claim ${conflict.identifierKind} ${conflict.identifier}; ${conflict.winner} is served, ${losses.join(", ")}`;
}

/** The holder's side of a conflict: it is served, and who else claims the identifier. */
export function describeContest(conflict: IdentifierConflict): string {
  return `holds ${conflict.identifierKind} ${conflict.identifier}; also claimed by ${conflict.losers.join(", ")} (not served)`;
}
