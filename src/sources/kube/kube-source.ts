// Resources from the API server: one reflector per kind, each object validated once when it changes (an object the
// schema rejects keeps its last valid version, as in directory mode), snapshots coalesced so a burst of watch
// events becomes one index rebuild.
import { type BootResource, parseBootResource } from "../../api/index.ts";
import { type SnapshotUpdate, type SourceProblem, snapshotOf } from "../../index/snapshot.ts";
import type { KubeClient } from "../../kube/client.ts";
import { apiVersionOf, BOOT_CONFIG_RESOURCES, type ResourceDescriptor, resourcePath, SECRETS } from "../../kube/paths.ts";
import type { ResourceSource } from "../types.ts";
import { type KubeObjectLike, Reflector, type ReflectorChange } from "./reflector.ts";

export type WatchedKind = "IPXEBootConfig" | "HTTPBootConfig" | "Secret";

export interface KubeSourceOptions {
  /** Empty: all namespaces (needs cluster-wide list/watch RBAC). */
  namespace: string;
  /** Only Secrets with these labels are watched (narrower RBAC is still namespace-wide for secrets). */
  secretLabelSelector?: string;
  coalesceMs?: number;
  watchTimeoutSeconds?: number;
  stallTimeoutMs?: number;
  resyncIntervalMs?: number;
  /** Every object change, after validation: reconcilers use it to find exactly what to re-reconcile. */
  /** `statusOnly`: the index did not change, so no snapshot follows this event. */
  onObjectChange?: (kind: WatchedKind, key: string, type: "upsert" | "delete", object: KubeObjectLike, statusOnly: boolean) => void;
  onWatchError?: (kind: WatchedKind, error: Error, retryInMs: number) => void;
}

interface Entry {
  resource: BootResource | undefined;
  problems: SourceProblem[];
}

/**
 * Same generation (spec unchanged: the API server bumps it on every spec change of a CRD with a status subresource)
 * and same labels/annotations as the entry we hold: only status or managed fields moved.
 */
function isStatusOnlyChange(previous: Entry | undefined, object: KubeObjectLike): boolean {
  const held = previous?.resource?.object.metadata;
  if (!held || previous.problems.length > 0) return false;
  const meta = object.metadata as { generation?: number; labels?: Record<string, string>; annotations?: Record<string, string> } | undefined;
  if (meta?.generation === undefined || meta.generation !== held.generation) return false;
  return (
    JSON.stringify(meta.labels ?? {}) === JSON.stringify(held.labels ?? {}) && JSON.stringify(meta.annotations ?? {}) === JSON.stringify(held.annotations ?? {})
  );
}

function resourceOf(kind: WatchedKind): ResourceDescriptor {
  return kind === "Secret" ? SECRETS : BOOT_CONFIG_RESOURCES[kind];
}

export class KubeSource implements ResourceSource {
  readonly description: string;
  readonly reflectors = new Map<WatchedKind, Reflector>();
  // A record, not a Map: every kind has its entries from the start. Emit order is this key order.
  private readonly entries: Record<WatchedKind, Map<string, Entry>> = { IPXEBootConfig: new Map(), HTTPBootConfig: new Map(), Secret: new Map() };
  private onUpdate: ((update: SnapshotUpdate) => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private synced = new Set<WatchedKind>();
  private firstSync: (() => void) | undefined;

  constructor(
    client: KubeClient,
    private readonly options: KubeSourceOptions,
  ) {
    this.description = `kube:${client.server}${options.namespace ? ` namespace ${options.namespace}` : " (all namespaces)"}`;
    for (const kind of ["IPXEBootConfig", "HTTPBootConfig", "Secret"] as const) {
      this.reflectors.set(
        kind,
        new Reflector(client, {
          path: resourcePath({ ...resourceOf(kind), namespace: options.namespace }),
          ...(kind === "Secret" ? { fieldSelector: "type!=kubernetes.io/service-account-token" } : {}),
          ...(kind === "Secret" && options.secretLabelSelector ? { labelSelector: options.secretLabelSelector } : {}),
          ...(options.watchTimeoutSeconds ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
          ...(options.stallTimeoutMs ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
          ...(options.resyncIntervalMs ? { resyncIntervalMs: options.resyncIntervalMs } : {}),
          onChanges: (changes) => this.applyChanges(kind, changes),
          onSynced: () => {
            this.synced.add(kind);
            if (this.synced.size === 3) this.firstSync?.();
          },
          onError: (error, _phase, retryInMs) => options.onWatchError?.(kind, error, retryInMs),
        }),
      );
    }
  }

  /** Resolves after every kind was listed once (the first full snapshot is delivered before). */
  async start(onUpdate: (update: SnapshotUpdate) => void): Promise<void> {
    this.onUpdate = onUpdate;
    const synced = new Promise<void>((resolve) => (this.firstSync = resolve));
    for (const reflector of this.reflectors.values()) reflector.start();
    await synced;
    this.emit();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await Promise.all([...this.reflectors.values()].map((reflector) => reflector.stop()));
  }

  get allSynced(): boolean {
    return this.synced.size === 3;
  }

  /** The raw object as last seen on the API server (with status), for reconcilers comparing status. */
  rawObject(kind: WatchedKind, key: string): KubeObjectLike | undefined {
    return this.reflectors.get(kind)?.objects.get(key);
  }

  private applyChanges(kind: WatchedKind, changes: ReflectorChange[]): void {
    const entries = this.entries[kind];
    let indexChanged = false;
    for (const change of changes) {
      if (change.type === "delete") {
        entries.delete(change.key);
        indexChanged = true;
      } else if (kind !== "Secret" && isStatusOnlyChange(entries.get(change.key), change.object)) {
        // Our own status writes come back as watch events; they cannot change what is served, so the index is not
        // rebuilt for them (a status pass over N configs would otherwise rebuild it N times).
        this.options.onObjectChange?.(kind, change.key, change.type, change.object, true);
        continue;
      } else {
        indexChanged = true;
        // The API server omits apiVersion/kind on list items in some versions; fill them in before validating.
        const document = { apiVersion: apiVersionOf(resourceOf(kind)), kind, ...change.object };
        const parsed = parseBootResource(document);
        if (parsed.ok) entries.set(change.key, { resource: parsed.resource, problems: [] });
        else {
          const previous = entries.get(change.key)?.resource;
          const problems = parsed.problems.map(
            (problem): SourceProblem => ({
              severity: "error",
              origin: change.key,
              kind,
              name: change.key,
              path: problem.path,
              message: previous ? `${problem.message} (still serving the last valid version)` : problem.message,
            }),
          );
          entries.set(change.key, { resource: previous, problems });
        }
      }
      this.options.onObjectChange?.(kind, change.key, change.type, change.object, false);
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
    const resources: BootResource[] = [];
    const problems: SourceProblem[] = [];
    for (const entries of Object.values(this.entries)) {
      for (const entry of entries.values()) {
        if (entry.resource) resources.push(entry.resource);
        problems.push(...entry.problems);
      }
    }
    this.onUpdate?.({ snapshot: snapshotOf(resources), problems });
  }
}
