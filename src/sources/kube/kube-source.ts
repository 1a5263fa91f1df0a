// Resources from the API server: one reflector per kind, each object validated once when it changes (an object the
// schema rejects keeps its last valid version, as in directory mode, and its problems stay queryable so the status
// reconciler can say what is wrong on the object itself), snapshots coalesced so a burst of watch events becomes one
// index rebuild. Each config change also reports who owns its status fields (managedFields, read before the
// reflector drops them), so the reconciler notices another writer rewriting its status. With the translator
// configured it also watches ServerBootConfigurations and Servers, on every replica (each serves, so each index
// must know which configs are the translator's: see translator-trust.ts).
import { type BootResource, parseBootResource, type SchemaProblem } from "../../api/index.ts";
import { withDecodedData } from "../../api/secret.ts";
import { configId, nextSnapshotSerial, type ResourceSnapshot, type SnapshotDelta, type TranslatorRole } from "../../index/boot-index.ts";
import type { SnapshotUpdate, SourceProblem } from "../../index/snapshot.ts";
import { isNotFound, KubeApiError, type KubeClient } from "../../kube/client.ts";
import { apiVersionOf, BOOT_CONFIG_RESOURCES, type ResourceDescriptor, resourcePath, SECRETS, SERVER_BOOT_CONFIGURATIONS, SERVERS } from "../../kube/paths.ts";
import type { ResourceSource } from "../types.ts";
import { type KubeObjectLike, Reflector, type ReflectorChange } from "./reflector.ts";
import { followStatusOnlyChange, shareEqualParts } from "./shared-subtrees.ts";
import type { StatusFieldOwner } from "./status-owners.ts";
import { statusSaysHeld, type TranslatedConfig, type TranslatorEvidence, translatorRoles } from "./translator-trust.ts";
import { COLLECT_EVERY_ITEMS, youngCollectionPacer } from "./young-collections.ts";

export type WatchedKind = "IPXEBootConfig" | "HTTPBootConfig" | "SwitchBootConfig" | "Secret";
/** Watched only to verify the translator's configs; their changes reach no reconciler. */
type OwnerKind = "ServerBootConfiguration" | "Server";

interface KubeSourceOptions {
  /** Empty: all namespaces (needs cluster-wide list/watch RBAC). */
  namespace: string;
  /** Only Secrets with these labels are watched (narrower RBAC is still namespace-wide for secrets). */
  secretLabelSelector?: string;
  coalesceMs?: number;
  watchTimeoutSeconds?: number;
  stallTimeoutMs?: number;
  resyncIntervalMs?: number;
  /**
   * Every object change, after validation: reconcilers use it to find exactly what to re-reconcile. `statusOnly`:
   * the index did not change, so no snapshot follows this event. `statusOwners`: who owns which status fields of
   * this version of a boot config (empty for Secrets and deletes).
   */
  onObjectChange?: (
    kind: WatchedKind,
    key: string,
    type: "upsert" | "delete",
    object: KubeObjectLike,
    statusOnly: boolean,
    statusOwners: readonly StatusFieldOwner[],
  ) => void;
  onWatchError?: (kind: WatchedKind | OwnerKind, error: Error, retryInMs: number) => void;
  /**
   * The kinds the translator writes (--translator-modes). When it writes any, ServerBootConfigurations (in
   * `namespace`) and Servers are watched too, so the active annotation counts on its own configs of those kinds;
   * the translator's RBAC grants the reads. Off: the annotation counts nowhere.
   */
  translatorModes?: { ipxe: boolean; httpboot: boolean };
  /** Test hook: the young collections while a LIST's items are read and validated (Bun.gc(false)). */
  collectYoung?: () => void;
  /**
   * Serve each boot config with its status (validated). Off (serve): the served objects carry none. The status is
   * ours, written from what was served; the reconcilers read the raw version's, no route reads it, and a status-only
   * change (our own writes) is never validated, so a served status would only be a stale copy. Its conditions and
   * lastBoot were most of a restart's validation: a config after a storm took 11.4 µs to validate, 3.3 µs without
   * them. On for explain, which shows status.lastBoot.
   */
  keepStatus?: boolean;
}

interface HeldMeta {
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface Entry {
  /** The last valid version (still served while the current one is invalid). */
  resource: BootResource | undefined;
  /** Set while the version on the API server fails validation. */
  invalid?: { problems: SchemaProblem[]; meta: HeldMeta };
}

/** What the status reconciler needs to say why a config on the API server is not (or no longer) what is served. */
export interface InvalidSpec {
  problems: readonly SchemaProblem[];
  /** True when an older, valid version of the object is still being served. */
  servingPrevious: boolean;
}

/** A version's problems carry this when an older valid version is still served (logs, `validate`). */
const STILL_SERVING_PREVIOUS = "(still serving the last valid version)";

/**
 * Same generation (spec unchanged: the API server bumps it on every spec change of a CRD with a status subresource)
 * and same labels/annotations as the version we last validated (valid or not): only status or managed fields moved.
 */
function isStatusOnlyChange(previous: Entry | undefined, object: KubeObjectLike): boolean {
  const held: HeldMeta | undefined = previous?.invalid ? previous.invalid.meta : previous?.resource?.object.metadata;
  if (!held) return false;
  const meta = object.metadata as HeldMeta | undefined;
  if (meta?.generation === undefined || meta.generation !== held.generation) return false;
  return (
    JSON.stringify(meta.labels ?? {}) === JSON.stringify(held.labels ?? {}) && JSON.stringify(meta.annotations ?? {}) === JSON.stringify(held.annotations ?? {})
  );
}

/**
 * A Secret is served with its values decoded once (withDecodedData), and its cached raw copy drops the base64
 * `data`: nothing reads a raw Secret's values (the reconcilers and the translator read raw configs; a re-LIST
 * compares versions). Other kinds are served as parsed.
 */
function servedForm(resource: BootResource, raw: KubeObjectLike): BootResource {
  if (resource.kind !== "Secret" || resource.object.data === undefined) return resource;
  delete raw.data;
  return { ...resource, object: withDecodedData(resource.object) };
}

const WATCHED_KINDS: readonly WatchedKind[] = ["IPXEBootConfig", "HTTPBootConfig", "SwitchBootConfig", "Secret"];

function resourceOf(kind: WatchedKind): ResourceDescriptor {
  return kind === "Secret" ? SECRETS : BOOT_CONFIG_RESOURCES[kind];
}

export class KubeSource implements ResourceSource {
  readonly description: string;
  readonly reflectors = new Map<WatchedKind, Reflector>();
  // A record, not a Map: every kind has its entries from the start. Emit order is this key order.
  private readonly entries: Record<WatchedKind, Map<string, Entry>> = {
    IPXEBootConfig: new Map(),
    HTTPBootConfig: new Map(),
    SwitchBootConfig: new Map(),
    Secret: new Map(),
  };
  private onUpdate: ((update: SnapshotUpdate) => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private synced = new Set<WatchedKind>();
  private firstSync: (() => void) | undefined;
  private readonly owners: OwnerWatches | undefined;
  private readonly ownerListeners = new Set<OwnerListener>();
  /** The roles the last snapshot carried, to skip snapshots for SBC/Server changes that change no role. */
  private lastRoles: ReadonlyMap<string, TranslatorRole> = new Map();
  /** Keys whose served resource may differ from the last snapshot's, per kind: the next snapshot's delta. */
  private readonly dirty: Record<WatchedKind, Set<string>> = {
    IPXEBootConfig: new Set(),
    HTTPBootConfig: new Set(),
    SwitchBootConfig: new Set(),
    Secret: new Set(),
  };
  private lastSerial: number | undefined;
  /** configIds whose status says they held every identifier (claimEvidence), kept up to date per change. */
  private readonly heldByStatus = new Set<string>();
  /** The copy of heldByStatus the last snapshot carried, reused while the set has not changed since. */
  private heldSnapshot: ReadonlySet<string> | undefined;
  /** Keys whose current version fails validation, per kind: emit reports their problems without visiting every entry. */
  private readonly invalid: Record<WatchedKind, Set<string>> = {
    IPXEBootConfig: new Set(),
    HTTPBootConfig: new Set(),
    SwitchBootConfig: new Set(),
    Secret: new Set(),
  };

  constructor(
    client: KubeClient,
    private readonly options: KubeSourceOptions,
  ) {
    this.description = `kube:${client.server}${options.namespace ? ` namespace ${options.namespace}` : " (all namespaces)"}`;
    for (const kind of ["IPXEBootConfig", "HTTPBootConfig", "SwitchBootConfig", "Secret"] as const) {
      this.reflectors.set(
        kind,
        new Reflector(client, {
          path: resourcePath({ ...resourceOf(kind), namespace: options.namespace }),
          ...(kind === "Secret" ? { fieldSelector: "type!=kubernetes.io/service-account-token" } : {}),
          ...(kind === "Secret" && options.secretLabelSelector ? { labelSelector: options.secretLabelSelector } : {}),
          ...(options.watchTimeoutSeconds ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
          ...(options.stallTimeoutMs ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
          ...(options.resyncIntervalMs ? { resyncIntervalMs: options.resyncIntervalMs } : {}),
          readStatusOwners: kind !== "Secret",
          ...(options.collectYoung ? { collectYoung: options.collectYoung } : {}),
          onChanges: (changes) => this.applyChanges(kind, changes),
          onSynced: () => {
            this.synced.add(kind);
            if (this.allSynced) this.firstSync?.();
          },
          onError: (error, phase, retryInMs) => {
            options.onWatchError?.(kind, error, retryInMs);
            // A cluster without the SwitchBootConfig CRD (or RBAC from before it) serves its servers anyway: the
            // kind settles empty and the reflector keeps retrying, picking switches up once the CRD is installed.
            const absent = isNotFound(error) || (error instanceof KubeApiError && error.status === 403);
            if (kind === "SwitchBootConfig" && phase === "list" && absent && !this.synced.has(kind)) {
              this.synced.add(kind);
              if (this.allSynced) this.firstSync?.();
            }
          },
        }),
      );
    }
    const modes = options.translatorModes;
    if (modes?.ipxe || modes?.httpboot) this.owners = new OwnerWatches(client, options, (kind, keys) => this.ownersChanged(kind, keys));
  }

  /** Resolves after every kind was listed once (the first full snapshot is delivered before). */
  async start(onUpdate: (update: SnapshotUpdate) => void): Promise<void> {
    this.onUpdate = onUpdate;
    const synced = new Promise<void>((resolve) => (this.firstSync = resolve));
    for (const reflector of this.reflectors.values()) reflector.start();
    this.owners?.start();
    await synced;
    this.emit();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await Promise.all([...this.reflectors.values()].map((reflector) => reflector.stop()));
    await this.owners?.stop();
  }

  /** Every reflector, the translator's owner watches included, by resource (for watch health metrics). */
  get allReflectors(): ReadonlyMap<string, Reflector> {
    const all = new Map<string, Reflector>();
    for (const reflector of this.reflectors.values()) all.set(reflector.resource, reflector);
    if (this.owners) for (const reflector of [this.owners.sbcs, this.owners.servers]) all.set(reflector.resource, reflector);
    return all;
  }

  get allSynced(): boolean {
    return this.synced.size === 4 && (this.owners?.settled ?? true);
  }

  /** The raw object as last seen on the API server (with status), for reconcilers comparing status. */
  rawObject(kind: WatchedKind, key: string): KubeObjectLike | undefined {
    return this.reflectors.get(kind)?.objects.get(key);
  }

  /** Why the version of this object on the API server failed validation; undefined when it is valid (or unknown). */
  invalidSpec(kind: WatchedKind, key: string): InvalidSpec | undefined {
    const entry = this.entries[kind].get(key);
    return entry?.invalid ? { problems: entry.invalid.problems, servingPrevious: entry.resource !== undefined } : undefined;
  }

  /** Keys of the objects of a kind whose current version is invalid (for periodic status passes). */
  invalidKeys(kind: WatchedKind): string[] {
    return [...this.invalid[kind]];
  }

  private applyChanges(kind: WatchedKind, changes: ReflectorChange[]): void {
    const entries = this.entries[kind];
    let indexChanged = false;
    // A LIST's items are validated in one pass: its garbage is collected as it goes (young-collections.ts).
    const collectNow = youngCollectionPacer(COLLECT_EVERY_ITEMS, this.options.collectYoung);
    for (const change of changes) {
      collectNow();
      const owners = (change.type === "upsert" && change.statusOwners) || [];
      if (change.type === "delete") {
        entries.delete(change.key);
        this.invalid[kind].delete(change.key);
        indexChanged = true;
      } else if (kind !== "Secret" && isStatusOnlyChange(entries.get(change.key), change.object)) {
        // Our own status writes come back as watch events; they cannot change what is served, so the index is not
        // rebuilt for them (a status pass over N configs would otherwise rebuild it N times).
        // The served object moves onto the new raw version's equal parts: otherwise it keeps the old raw version's.
        const served = entries.get(change.key)?.resource;
        if (served) followStatusOnlyChange(served.object, change.object);
        this.options.onObjectChange?.(kind, change.key, change.type, change.object, true, owners);
        this.noteHeld(kind, change.key, change.object);
        continue;
      } else {
        indexChanged = true;
        // The API server omits apiVersion/kind on list items in some versions; fill them in before validating.
        const document: Record<string, unknown> = { apiVersion: apiVersionOf(resourceOf(kind)), kind, ...change.object };
        if (!this.options.keepStatus) delete document.status;
        const parsed = parseBootResource(document);
        if (parsed.ok) {
          shareEqualParts(parsed.resource.object, change.object);
          entries.set(change.key, { resource: servedForm(parsed.resource, change.object) });
          this.invalid[kind].delete(change.key);
        } else {
          const meta = (change.object.metadata ?? {}) as HeldMeta;
          const held: HeldMeta = { generation: meta.generation, labels: meta.labels, annotations: meta.annotations };
          entries.set(change.key, { resource: entries.get(change.key)?.resource, invalid: { problems: parsed.problems, meta: held } });
          this.invalid[kind].add(change.key);
        }
      }
      this.dirty[kind].add(change.key);
      if (kind !== "Secret") this.noteHeld(kind, change.key, change.type === "delete" ? undefined : change.object);
      this.options.onObjectChange?.(kind, change.key, change.type, change.object, false, owners);
    }
    if (indexChanged && this.allSynced) this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.emit();
    }, this.options.coalesceMs ?? 20);
  }

  private emit(): void {
    const problems: SourceProblem[] = [];
    // Only the invalid entries carry problems: at 10 000 machines visiting every entry for them cost more per change
    // than patching the index.
    for (const kind of WATCHED_KINDS) {
      for (const key of this.invalid[kind]) {
        const entry = this.entries[kind].get(key);
        for (const problem of entry?.invalid?.problems ?? []) {
          problems.push({
            severity: "error",
            origin: key,
            kind,
            name: key,
            path: problem.path,
            message: entry?.resource ? `${problem.message} ${STILL_SERVING_PREVIOUS}` : problem.message,
          });
        }
      }
    }
    const serial = nextSnapshotSerial();
    const delta = this.takeDelta();
    this.lastSerial = serial;
    const snapshot: ResourceSnapshot = {
      ipxeBootConfigs: this.served("IPXEBootConfig", (resource) => (resource.kind === "IPXEBootConfig" ? resource.object : undefined)),
      httpBootConfigs: this.served("HTTPBootConfig", (resource) => (resource.kind === "HTTPBootConfig" ? resource.object : undefined)),
      switchBootConfigs: this.served("SwitchBootConfig", (resource) => (resource.kind === "SwitchBootConfig" ? resource.object : undefined)),
      secrets: this.served("Secret", (resource) => (resource.kind === "Secret" ? resource.object : undefined)),
      ...this.claimEvidence(),
      serial,
      ...(delta ? { delta } : {}),
    };
    this.onUpdate?.({ snapshot, problems });
  }

  /** The served objects of one kind (the last valid version of each), in one tight pass. */
  private served<T>(kind: WatchedKind, pick: (resource: BootResource) => T | undefined): T[] {
    const objects: T[] = [];
    for (const entry of this.entries[kind].values()) {
      const object = entry.resource ? pick(entry.resource) : undefined;
      if (object !== undefined) objects.push(object);
    }
    return objects;
  }

  /** What changed since the last snapshot, by key (undefined: removed); none for the first snapshot. */
  private takeDelta(): SnapshotDelta | undefined {
    const since = this.lastSerial;
    const changed = <T>(kind: WatchedKind, pick: (resource: BootResource) => T | undefined): Map<string, T | undefined> => {
      const result = new Map<string, T | undefined>();
      for (const key of this.dirty[kind]) {
        const resource = this.entries[kind].get(key)?.resource;
        result.set(key, resource ? pick(resource) : undefined);
      }
      this.dirty[kind].clear();
      return result;
    };
    const delta = {
      ipxeBootConfigs: changed("IPXEBootConfig", (resource) => (resource.kind === "IPXEBootConfig" ? resource.object : undefined)),
      httpBootConfigs: changed("HTTPBootConfig", (resource) => (resource.kind === "HTTPBootConfig" ? resource.object : undefined)),
      secrets: changed("Secret", (resource) => (resource.kind === "Secret" ? resource.object : undefined)),
    };
    // Switches are few: the index rebuilds their tables from the snapshot every time, so the delta leaves them out.
    this.dirty.SwitchBootConfig.clear();
    return since === undefined ? undefined : { since, ...delta };
  }

  /** Keeps heldByStatus current: only a config served exactly as the API server has it speaks for this version. */
  private noteHeld(kind: Exclude<WatchedKind, "Secret">, key: string, object: KubeObjectLike | undefined): void {
    const entry = this.entries[kind].get(key);
    const id = configId(kind, key);
    const held = object !== undefined && entry?.resource !== undefined && !entry.invalid && statusSaysHeld(object);
    if (held === this.heldByStatus.has(id)) return;
    if (held) this.heldByStatus.add(id);
    else this.heldByStatus.delete(id);
    this.heldSnapshot = undefined;
  }

  /** What the index needs beyond the resources to decide conflicts: verified translator roles, holders by status. */
  private claimEvidence(): Pick<ResourceSnapshot, "translatorRoles" | "heldBefore"> {
    // A copy: the set goes on changing with later events, the snapshot must not. Shared until the set changes, so
    // a change that moves no holder does not copy 20 000 ids.
    this.heldSnapshot ??= new Set(this.heldByStatus);
    const heldBefore = this.heldSnapshot;
    this.lastRoles = this.currentRoles();
    return { translatorRoles: this.lastRoles, heldBefore };
  }

  private currentRoles(): ReadonlyMap<string, TranslatorRole> {
    if (!this.owners) return new Map();
    const configs: TranslatedConfig[] = [];
    const modes = this.options.translatorModes;
    // A kind the translator does not write here is never its config, whatever its owner reference says.
    const kinds = [...(modes?.ipxe ? (["IPXEBootConfig"] as const) : []), ...(modes?.httpboot ? (["HTTPBootConfig"] as const) : [])];
    for (const kind of kinds) {
      for (const entry of this.entries[kind].values()) {
        const resource = entry.resource;
        if (resource?.kind === "IPXEBootConfig" || resource?.kind === "HTTPBootConfig") configs.push(resource);
      }
    }
    return translatorRoles(configs, this.owners.evidence);
  }

  /**
   * The ServerBootConfiguration and Server caches (with --translator-modes). The translator reads these instead of
   * watching the same objects a second time; `onOwnerChange` tells it which keys changed.
   */
  get ownerCaches(): OwnerCaches | undefined {
    const owners = this.owners;
    if (!owners) return undefined;
    return { sbcs: owners.sbcs.objects, servers: owners.servers.objects, settled: () => owners.settled };
  }

  /** Calls `listener` with the keys of every SBC/Server change (none when a watch settles); returns the unsubscribe. */
  onOwnerChange(listener: OwnerListener): () => void {
    this.ownerListeners.add(listener);
    return () => this.ownerListeners.delete(listener);
  }

  /** An SBC or Server changed: a new snapshot only if some config's role did (Server status churns often). */
  private ownersChanged(kind: OwnerKind, keys: readonly string[]): void {
    for (const listener of this.ownerListeners) listener(kind, keys);
    if (!this.allSynced) return;
    this.firstSync?.(); // the owner watches may settle last; a no-op once start() has resolved
    const roles = this.currentRoles();
    const same = roles.size === this.lastRoles.size && [...roles].every(([id, role]) => this.lastRoles.get(id) === role);
    if (!same) this.schedule();
  }
}

/**
 * The two watches behind translator verification. A missing CRD (metal-operator not installed) or a refused list
 * settles them empty, so serving never waits for them; the reflector keeps retrying and picks them up later.
 */
export interface OwnerCaches {
  sbcs: ReadonlyMap<string, KubeObjectLike>;
  servers: ReadonlyMap<string, KubeObjectLike>;
  /** Both listed once, or settled empty (metal-operator's CRDs absent, or the list refused). */
  settled: () => boolean;
}

type OwnerListener = (kind: OwnerKind, keys: readonly string[]) => void;

class OwnerWatches {
  readonly sbcs: Reflector;
  readonly servers: Reflector;
  private readonly settledKinds = new Set<OwnerKind>();

  constructor(client: KubeClient, options: KubeSourceOptions, onChange: (kind: OwnerKind, keys: readonly string[]) => void) {
    const watch = (kind: OwnerKind, path: string): Reflector =>
      new Reflector(client, {
        path,
        ...(options.watchTimeoutSeconds ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
        ...(options.stallTimeoutMs ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
        ...(options.resyncIntervalMs ? { resyncIntervalMs: options.resyncIntervalMs } : {}),
        onChanges: (changes) =>
          onChange(
            kind,
            changes.map((change) => change.key),
          ),
        onSynced: () => {
          this.settledKinds.add(kind);
          onChange(kind, []);
        },
        onError: (error, phase, retryInMs) => {
          options.onWatchError?.(kind, error, retryInMs);
          const absent = isNotFound(error) || (error instanceof KubeApiError && error.status === 403);
          if (phase === "list" && absent && !this.settledKinds.has(kind)) {
            this.settledKinds.add(kind);
            onChange(kind, []);
          }
        },
      });
    this.sbcs = watch("ServerBootConfiguration", resourcePath({ ...SERVER_BOOT_CONFIGURATIONS, namespace: options.namespace }));
    // Servers are cluster-scoped.
    this.servers = watch("Server", resourcePath(SERVERS));
  }

  get settled(): boolean {
    return this.settledKinds.size === 2;
  }

  get evidence(): TranslatorEvidence {
    return { sbcs: this.sbcs.objects, servers: this.servers.objects };
  }

  start(): void {
    this.sbcs.start();
    this.servers.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.sbcs.stop(), this.servers.stop()]);
  }
}
