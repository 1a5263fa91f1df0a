// A reflector keeps a local copy of one collection in step with the API server, as client-go's does:
// LIST, then WATCH from the list's resourceVersion; bookmarks advance it; 410 Gone/Expired → re-LIST; any other failure →
// re-WATCH (or re-LIST) after jittered exponential backoff; a watch silent for too long is restarted (a dead TCP
// connection is otherwise never noticed); and a periodic re-LIST repairs anything missed. While the API server is
// away the last copy stays in place, so the appliance keeps serving.

import { sharedValue } from "../../api/shared-values.ts";
import { backoffDelay } from "../../kube/backoff.ts";
import { isGone, KubeApiError, type KubeClient, type WatchEvent, type WatchHandle } from "../../kube/client.ts";
import { cacheKeyOf } from "../../kube/paths.ts";
import { type StatusFieldOwner, statusFieldOwners } from "./status-owners.ts";
import { COLLECT_EVERY_ITEMS, youngCollectionPacer } from "./young-collections.ts";

export interface KubeObjectLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  [key: string]: unknown;
}

export type ReflectorChange =
  /** `statusOwners`: who owned status fields in this version, read from the managedFields trimForCache dropped (readStatusOwners). */
  { type: "upsert"; key: string; object: KubeObjectLike; statusOwners?: StatusFieldOwner[] } | { type: "delete"; key: string; object: KubeObjectLike };

interface ReflectorOptions {
  /** Collection path, e.g. /apis/boot.ironcore.dev/v1alpha1/ipxebootconfigs or /api/v1/namespaces/x/secrets. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side watch duration; the server ends the watch cleanly after it and we resume from the last version. */
  watchTimeoutSeconds?: number;
  /** Restart a watch that delivered neither event nor bookmark for this long. */
  stallTimeoutMs?: number;
  /** Re-LIST this often even when all seems well. */
  resyncIntervalMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Read each upsert's status owners from its managedFields before they are dropped (status-owners.ts). */
  readStatusOwners?: boolean;
  /** Test hook: the young collection every COLLECT_EVERY_ITEMS LIST items (young-collections.ts; Bun.gc(false)). */
  collectYoung?: () => void;
  onChanges: (changes: ReflectorChange[], reason: "list" | "watch") => void;
  onSynced?: () => void;
  onError?: (error: Error, phase: "list" | "watch", retryInMs: number) => void;
  /** Test hook for jitter. */
  random?: () => number;
}

/**
 * Drops what no consumer reads before an object is cached: managedFields were half of each config's JSON in the
 * benchmark (client-go's informers strip them the same way). The status conditions' messages, which JSON.parse
 * gives a fresh string per object (it shares only short ones), point at one shared string each: a fleet's
 * configs mostly say the same ("all referenced secrets exist and render": 20 000 copies, 1 MiB, at 10 000 machines).
 */
function trimForCache(object: KubeObjectLike): KubeObjectLike {
  const metadata = object.metadata as (KubeObjectLike["metadata"] & { managedFields?: unknown }) | undefined;
  if (metadata && "managedFields" in metadata) delete metadata.managedFields;
  const conditions = (object as { status?: { conditions?: unknown } }).status?.conditions;
  if (Array.isArray(conditions)) {
    for (const condition of conditions) {
      if (typeof condition === "object" && condition !== null && typeof condition.message === "string") condition.message = sharedValue(condition.message);
    }
  }
  return object;
}

/** trimForCache, handing back who owned status fields per the managedFields it dropped, when asked to. */
function trimReadingOwners(object: KubeObjectLike, readOwners: boolean): { object: KubeObjectLike; statusOwners?: StatusFieldOwner[] } {
  if (!readOwners) return { object: trimForCache(object) };
  const statusOwners = statusFieldOwners((object.metadata as { managedFields?: unknown } | undefined)?.managedFields);
  return { object: trimForCache(object), statusOwners };
}

export function objectKeyOf(object: KubeObjectLike): string {
  return cacheKeyOf({ namespace: object.metadata?.namespace ?? "", name: object.metadata?.name ?? "" });
}

export class Reflector {
  /** The current copy, by namespace/name. */
  readonly objects = new Map<string, KubeObjectLike>();
  resourceVersion = "";
  synced = false;
  /**
   * Counters for metrics and tests. `resyncs`: periodic re-LISTs asked for; `watchesClosed`: watches the server
   * ended by itself; `watchFailures`: watches that failed (not 410 Gone, which is `relistsAfterGone`).
   */
  readonly stats = {
    lists: 0,
    watches: 0,
    relistsAfterGone: 0,
    resyncs: 0,
    stalls: 0,
    errors: 0,
    watchFailures: 0,
    watchesClosed: 0,
    bookmarks: 0,
    events: 0,
  };
  /**
   * When the API server last answered for this collection (a LIST, a watch opened, an event, a bookmark), epoch ms;
   * 0 before the first answer. Attempts that fail do not move it, so it ages while the server is away.
   */
  lastContactAt = 0;
  private running = false;
  private watchHandle: WatchHandle | undefined;
  private failures = 0;
  private lastActivity = 0;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private stallTimer: ReturnType<typeof setInterval> | undefined;
  private resyncTimer: ReturnType<typeof setInterval> | undefined;
  private needList = true;
  private cycle: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  /** Set when we end a watch ourselves (restart, stop): its abort error is not a failure. */
  private abortedDeliberately = false;

  constructor(
    private readonly client: KubeClient,
    private readonly options: ReflectorOptions,
  ) {}

  /** The resource's plural name (the path's last segment: ipxebootconfigs, secrets…), as metrics label it. */
  get resource(): string {
    return this.options.path.split("/").pop() ?? this.options.path;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const stallTimeout = this.options.stallTimeoutMs ?? 5 * 60_000;
    this.stallTimer = setInterval(
      () => {
        if (this.watchHandle && Date.now() - this.lastActivity > stallTimeout) {
          this.stats.stalls++;
          this.options.onError?.(
            new Error(`watch ${this.options.path} silent for ${Math.round((Date.now() - this.lastActivity) / 1000)} s; restarting it`),
            "watch",
            0,
          );
          this.restartWatch(false);
        }
      },
      Math.max(250, Math.min(stallTimeout / 4, 10_000)),
    );
    this.resyncTimer = setInterval(
      () => {
        this.stats.resyncs++;
        this.restartWatch(true);
      },
      this.options.resyncIntervalMs ?? 10 * 60_000,
    );
    this.cycle = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.stallTimer);
    clearInterval(this.resyncTimer);
    this.abortedDeliberately = true;
    this.watchHandle?.abort();
    this.watchHandle = undefined;
    this.wake?.();
    await this.cycle;
  }

  /** Ends the current watch; the loop resumes (from the last version, or with a fresh LIST). */
  private restartWatch(relist: boolean): void {
    if (relist) this.needList = true;
    const handle = this.watchHandle;
    this.watchHandle = undefined;
    if (handle) this.abortedDeliberately = true;
    handle?.abort();
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        clearTimeout(this.wakeTimer);
        this.wake = undefined;
        resolve();
      };
      this.wakeTimer = setTimeout(() => this.wake?.(), ms);
    });
  }

  private selectorQuery(): Record<string, string | undefined> {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        if (this.needList) await this.list();
        await this.watchOnce();
        this.failures = 0;
      } catch (error) {
        if (!this.running) break;
        this.stats.errors++;
        if (!this.needList && !isGone(error)) this.stats.watchFailures++;
        if (isGone(error)) {
          this.stats.relistsAfterGone++;
          this.needList = true;
          this.options.onError?.(error as Error, "watch", 0);
          continue;
        }
        // Full jitter: replicas that lost the API server together do not come back in lockstep.
        const delay = backoffDelay(
          this.failures++,
          { base: this.options.minBackoffMs ?? 500, cap: this.options.maxBackoffMs ?? 30_000, jitter: 1 },
          this.options.random,
        );
        this.options.onError?.(error as Error, this.needList ? "list" : "watch", delay);
        await this.sleep(delay);
      }
    }
  }

  private async list(): Promise<void> {
    // Each item is trimmed as it is read, so the full objects never stand in the heap together. An item whose
    // version is already cached (most of a periodic re-LIST) keeps the cached copy: nothing to trim or read.
    const listed: { key: string; object: KubeObjectLike; statusOwners?: StatusFieldOwner[] }[] = [];
    const readOwners = this.options.readStatusOwners ?? false;
    const collectNow = youngCollectionPacer(COLLECT_EVERY_ITEMS, this.options.collectYoung);
    const result = await this.client.list(this.options.path, this.selectorQuery(), (item) => {
      collectNow();
      const object = item as KubeObjectLike;
      const key = objectKeyOf(object);
      const cached = this.objects.get(key);
      if (cached && cached.metadata?.resourceVersion === object.metadata?.resourceVersion) listed.push({ key, object: cached });
      else listed.push({ key, ...trimReadingOwners(object, readOwners) });
    });
    this.stats.lists++;
    this.lastContactAt = Date.now();
    const seen = new Set<string>();
    const changes: ReflectorChange[] = [];
    for (const { key, object, statusOwners } of listed) {
      seen.add(key);
      const previous = this.objects.get(key);
      if (previous?.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
        this.objects.set(key, object);
        changes.push(statusOwners ? { type: "upsert", key, object, statusOwners } : { type: "upsert", key, object });
      }
    }
    for (const [key, object] of this.objects) {
      if (!seen.has(key)) {
        this.objects.delete(key);
        changes.push({ type: "delete", key, object });
      }
    }
    this.resourceVersion = result.resourceVersion;
    this.needList = false;
    if (changes.length > 0 || !this.synced) this.options.onChanges(changes, "list");
    if (!this.synced) {
      this.synced = true;
      this.options.onSynced?.();
    }
  }

  /** One watch connection, until it ends. Throws on failure so the loop backs off. */
  private async watchOnce(): Promise<void> {
    let finish: (error: unknown) => void = () => {};
    let stillOpen = true;
    const ended = new Promise<void>((resolve, reject) => {
      finish = (error: unknown) => {
        stillOpen = false;
        if (this.abortedDeliberately && !streamError) resolve();
        else if (error) reject(error);
        else {
          this.stats.watchesClosed++;
          resolve();
        }
      };
    });
    this.abortedDeliberately = false;
    let streamError: unknown = null;
    this.lastActivity = Date.now();
    this.watchHandle = await this.client.watch(
      this.options.path,
      {
        ...this.selectorQuery(),
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.options.watchTimeoutSeconds ?? 300 + Math.floor((this.options.random ?? Math.random)() * 60),
      },
      (event) => {
        this.lastActivity = Date.now();
        this.lastContactAt = this.lastActivity;
        try {
          this.handleEvent(event);
        } catch (error) {
          streamError = error;
          this.watchHandle?.abort();
        }
      },
      (error) => finish(streamError ?? error),
    );
    this.stats.watches++;
    // A refused or unreachable watch ends before its handle arrives: that is no answer from the server.
    if (stillOpen) this.lastContactAt = Date.now();
    // stop() while the watch was still opening found no handle to abort: end it now, or it runs to its timeout.
    if (!this.running) {
      this.abortedDeliberately = true;
      this.watchHandle.abort();
    }
    try {
      await ended;
    } finally {
      this.watchHandle = undefined;
    }
  }

  private handleEvent(event: WatchEvent): void {
    if (event.type === "ERROR") {
      const status = event.object as { code?: number; reason?: string; message?: string };
      throw new KubeApiError(status.code ?? 500, status.reason ?? "Error", `watch ${this.options.path}: ${status.message ?? "error event"}`);
    }
    const { object, statusOwners } = trimReadingOwners(
      event.object as KubeObjectLike,
      this.options.readStatusOwners === true && event.type !== "BOOKMARK" && event.type !== "DELETED",
    );
    const version = object.metadata?.resourceVersion;
    if (event.type === "BOOKMARK") {
      this.stats.bookmarks++;
      if (version) this.resourceVersion = version;
      return;
    }
    this.stats.events++;
    const key = objectKeyOf(object);
    if (event.type === "DELETED") {
      this.objects.delete(key);
      this.options.onChanges([{ type: "delete", key, object }], "watch");
    } else {
      this.objects.set(key, object);
      this.options.onChanges([statusOwners ? { type: "upsert", key, object, statusOwners } : { type: "upsert", key, object }], "watch");
    }
    if (version) this.resourceVersion = version;
  }
}
