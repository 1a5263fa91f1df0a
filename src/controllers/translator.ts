// The metal-operator translator (leader only): each metal.ironcore.dev ServerBootConfiguration (SBC) becomes an
// IPXEBootConfig and/or an HTTPBootConfig named like it, owned by it (garbage-collected with it), server-side
// applied. Its OCI image is resolved to boot layers whose URLs point at this appliance's image proxy. The SBC's
// status is written by this one writer only, from its own conclusions and its children's states, so it cannot flap.
// What to write is decided by planTranslation (translator-plan.ts, pure); this file gathers its inputs from the
// caches and the registry and carries the plan out. Retries (a registry that is down) belong to the work queue.
import { isNotFound, type KubeClient } from "../kube/client.ts";
import {
  apiVersionOf,
  BOOT_CONFIG_RESOURCES,
  cacheKeyOf,
  type NamespacedName,
  parseCacheKey,
  resourcePath,
  SERVER_BOOT_CONFIGURATIONS,
} from "../kube/paths.ts";
import type { Logger } from "../observability/log.ts";
import type { Architecture, OciClient, RegistryAllowList } from "../oci/index.ts";
import type { KubeSource, OwnerCaches } from "../sources/kube/kube-source.ts";
import type { KubeObjectLike } from "../sources/kube/reflector.ts";
import { type ConfigKind, serverSideApply } from "./apply.ts";
import {
  type ChildAction,
  type ChildObject,
  checkImageReference,
  type ImageOutcome,
  planTranslation,
  type SbcObject,
  type SbcStatus,
  type ServerObject,
  type TranslationTarget,
  type TranslatorModes,
} from "./translator-plan.ts";
import { done, failed, KeyedWorkQueue, type ObjectKey, type ReconcileResult } from "./work-queue.ts";

export type { TranslatorModes } from "./translator-plan.ts";

const TRANSLATOR_FIELD_MANAGER = "boot-operator-translator";

interface TranslatorDeps {
  client: KubeClient;
  source: KubeSource;
  oci: OciClient;
  allowList: RegistryAllowList;
  architecture: Architecture;
  modes: TranslatorModes;
  /** Base for proxy URLs in children; empty: "/image?…" paths resolved per replica against its --public-url. */
  publicUrl: string;
  log: Logger;
  /** First retry delay for an SBC that failed (registry down); doubles per attempt up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

/** The image could not be resolved; the SBC's status already says why, the queue retries with backoff. */
class ImageNotResolved extends Error {
  override readonly name = "ImageNotResolved";
}

interface SbcKey extends ObjectKey {
  kind: "ServerBootConfiguration";
}

function sbcKey(cacheKey: string): SbcKey {
  return { kind: "ServerBootConfiguration", ...parseCacheKey(cacheKey) };
}

export class Translator {
  readonly stats = { reconciles: 0, childApplies: 0, childDeletes: 0, statusWrites: 0, errors: 0 };
  /** The source's SBC and Server caches: every replica watches them already (translator-trust), so the leader does not twice. */
  private readonly caches: OwnerCaches;
  private readonly queue: KeyedWorkQueue<SbcKey>;
  private wasSettled = false;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: TranslatorDeps) {
    this.queue = new KeyedWorkQueue((key) => this.reconcile(key), {
      // A registry blip heals fast (2 s), a dead one is not hammered (at most every 5 min).
      backoff: { base: deps.retryMs ?? 2_000, cap: deps.maxRetryMs ?? 300_000, jitter: 0.25 },
      onError: (key, error, retryInMs) => {
        const sbc = cacheKeyOf(key);
        // An unresolvable image is reported in the SBC's status already; only unexpected failures are warnings.
        if (error instanceof ImageNotResolved) deps.log.debug("image not resolved; retrying", { sbc, error: error.message, retryInMs });
        else {
          this.stats.errors++;
          deps.log.warn("translating ServerBootConfiguration failed; retrying", { sbc, error: error.message, retryInMs });
        }
      },
    });
    const caches = deps.source.ownerCaches;
    if (!caches) throw new Error("internal: the translator needs the source's ServerBootConfiguration and Server watches (translatorModes)");
    this.caches = caches;
  }

  /** From the boot-config watch: a child changed (status) or vanished → its owner re-aggregates or re-creates it. */
  childChanged(key: string, object: KubeObjectLike | undefined): void {
    const owner = (object as ChildObject | undefined)?.metadata?.ownerReferences?.find((ref) => ref.kind === "ServerBootConfiguration" && ref.controller);
    const { namespace } = parseCacheKey(key);
    if (owner?.name) this.enqueue(cacheKeyOf({ namespace, name: owner.name }));
    else if (this.caches.sbcs.has(key)) this.enqueue(key); // same name as an SBC: ours, maybe deleted
  }

  start(): void {
    this.unsubscribe = this.deps.source.onOwnerChange((kind, keys) => this.ownersChanged(kind, keys));
    this.queue.start();
    // After a leadership change the caches may already be synced: everything is due again.
    this.resync();
  }

  /** Everything is due again (new registry credentials: an image that failed may resolve now). */
  resync(): void {
    for (const key of this.caches.sbcs.keys()) this.enqueue(key);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.queue.stop();
  }

  /** An SBC changed → it is due; a Server changed → the SBCs naming it are; the caches settled → everything is. */
  private ownersChanged(kind: "ServerBootConfiguration" | "Server", keys: readonly string[]): void {
    if (kind === "ServerBootConfiguration") for (const key of keys) this.enqueue(key);
    else for (const server of keys) for (const key of this.sbcsOfServer(server)) this.enqueue(key);
    if (!this.wasSettled && this.caches.settled()) {
      this.wasSettled = true;
      this.resync();
    }
  }

  private sbcsOfServer(serverName: string): string[] {
    const keys: string[] = [];
    for (const [key, object] of this.caches.sbcs) if ((object as SbcObject).spec?.serverRef?.name === serverName) keys.push(key);
    return keys;
  }

  private enqueue(cacheKey: string): void {
    this.queue.add(sbcKey(cacheKey));
    // Until both caches are synced a reconcile would see a partial world (an SBC without its Server).
    if (this.caches.settled()) this.queue.kick();
  }

  private async resolveImage(reference: string | undefined): Promise<ImageOutcome> {
    const checked = checkImageReference(reference, this.deps.allowList);
    if (!checked.ok) return checked;
    try {
      return { ok: true, image: await this.deps.oci.resolveBootImage(checked.reference, { architecture: this.deps.architecture }) };
    } catch (error) {
      return { ok: false, reason: "ImageResolutionFailed", message: `${reference}: ${(error as Error).message}` };
    }
  }

  /** Gathers the plan's inputs (caches, registry), then carries the plan out: children first, the status last. */
  private async reconcile(key: SbcKey): Promise<ReconcileResult> {
    const cacheKey = cacheKeyOf(key);
    const sbc = this.caches.sbcs.get(cacheKey) as SbcObject | undefined;
    if (!sbc) return done; // deleted: the garbage collector removes the children it owns
    this.stats.reconciles++;
    const serverName = sbc.spec?.serverRef?.name;
    const server = serverName ? (this.caches.servers.get(serverName) as ServerObject | undefined) : undefined;
    const target: TranslationTarget = server ? { server, image: await this.resolveImage(sbc.spec?.image) } : { server: undefined };
    const children: Partial<Record<ConfigKind, ChildObject>> = {};
    for (const kind of ["IPXEBootConfig", "HTTPBootConfig"] as const) children[kind] = this.deps.source.rawObject(kind, cacheKey) as ChildObject | undefined;
    const { modes, publicUrl } = this.deps;
    const plan = planTranslation({ ref: key, sbc, target, children, modes, publicUrl, now: new Date() });
    try {
      for (const action of plan.children) await this.applyChild(key, action);
      if (plan.status) await this.writeStatus(key, sbc, plan.status);
    } catch (error) {
      return failed(error);
    }
    return plan.retry === undefined ? done : failed(new ImageNotResolved(plan.retry));
  }

  private async applyChild(ref: NamespacedName, action: ChildAction): Promise<void> {
    const path = resourcePath({ ...BOOT_CONFIG_RESOURCES[action.kind], namespace: ref.namespace, name: ref.name });
    if (action.action === "apply") {
      await serverSideApply(this.deps.client, path, action.object, TRANSLATOR_FIELD_MANAGER);
      this.stats.childApplies++;
      return;
    }
    try {
      await this.deps.client.request("DELETE", path);
      this.stats.childDeletes++;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Single writer of the SBC's status (the plan left it out when nothing changed). */
  private async writeStatus(ref: NamespacedName, sbc: SbcObject, status: SbcStatus): Promise<void> {
    const { namespace, name } = ref;
    const path = resourcePath({ ...SERVER_BOOT_CONFIGURATIONS, namespace, name, subresource: "status" });
    const body = { apiVersion: apiVersionOf(SERVER_BOOT_CONFIGURATIONS), kind: SERVER_BOOT_CONFIGURATIONS.kind, metadata: { name, namespace }, status };
    await serverSideApply(this.deps.client, path, body, TRANSLATOR_FIELD_MANAGER);
    this.stats.statusWrites++;
    const from = sbc.status?.state;
    if (from !== status.state) this.deps.log.info("ServerBootConfiguration state changed", { sbc: cacheKeyOf(ref), from: from ?? "(none)", to: status.state });
  }
}
