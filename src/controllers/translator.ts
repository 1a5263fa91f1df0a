// The metal-operator translator (leader only): each metal.ironcore.dev ServerBootConfiguration (SBC) becomes an
// IPXEBootConfig and/or an HTTPBootConfig named like it, owned by it (garbage-collected with it), server-side
// applied. Its OCI image is resolved to boot layers whose URLs point at this appliance's image proxy. The SBC's
// status is written by this one writer only, from its own conclusions and its children's states, so it cannot flap.
import { API_GROUP, API_VERSION, type Condition } from "../api/index.ts";
import { ACTIVE_ANNOTATION } from "../index/boot-index.ts";
import { KubeApiError, type KubeClient } from "../kube/client.ts";
import type { Logger } from "../observability/log.ts";
import { type Architecture, type BootImage, bootImageUrls, type OciClient, parseImageReference, type RegistryAllowList } from "../oci/index.ts";
import type { KubeSource } from "../sources/kube/kube-source.ts";
import { type KubeObjectLike, Reflector } from "../sources/kube/reflector.ts";
import { serverSideApply } from "./apply.ts";
import { conditionMatches, withTransitionTime } from "./conditions.ts";
import { KeyedWorkQueue } from "./work-queue.ts";

export const METAL_GROUP_VERSION = "metal.ironcore.dev/v1alpha1";
export const TRANSLATOR_FIELD_MANAGER = "boot-operator-translator";
export const SERVER_LABEL = "boot.ironcore.dev/server";

export const CONDITION_IMAGE_VALIDATION = "ImageValidation";
export const CONDITION_IPXE_BOOT_READY = "IPXEBootReady";
export const CONDITION_HTTP_BOOT_READY = "HTTPBootReady";
export const CONDITION_SERVER_FOUND = "ServerFound";

interface ObjectRef {
  name?: string;
  namespace?: string;
}

interface ServerObject extends KubeObjectLike {
  spec?: { systemUUID?: string; bootConfigurationRef?: ObjectRef | null; maintenanceBootConfigurationRef?: ObjectRef | null };
  status?: { networkInterfaces?: { ip?: string; ips?: string[]; macAddress?: string }[] };
}

interface SbcObject extends KubeObjectLike {
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number; resourceVersion?: string };
  spec?: { serverRef?: { name?: string }; image?: string; ignitionSecretRef?: { name?: string } };
  status?: { state?: string; conditions?: Condition[] };
}

interface ChildObject extends KubeObjectLike {
  metadata?: {
    name?: string;
    namespace?: string;
    ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[];
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: { state?: string };
}

export interface TranslatorModes {
  ipxe: boolean;
  httpboot: boolean;
}

export interface TranslatorDeps {
  client: KubeClient;
  source: KubeSource;
  oci: OciClient;
  allowList: RegistryAllowList;
  architecture: Architecture;
  modes: TranslatorModes;
  /** Base for proxy URLs in children; empty: "/image?…" paths resolved per replica against its --public-url. */
  publicUrl: string;
  namespace: string;
  log: Logger;
  /** First retry delay for an SBC that failed (registry down); doubles per attempt up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

type ImageOutcome = { ok: true; image: BootImage } | { ok: false; reason: string; message: string };

function collection(namespace: string, plural: string, group = "metal.ironcore.dev/v1alpha1"): string {
  const base = `/apis/${group}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${base}/${plural}`;
}

/** Machine addresses from the Server's NICs, in order, de-duplicated. */
export function serverIdentity(server: ServerObject): { uuid: string | undefined; ips: string[]; macs: string[] } {
  const ips: string[] = [];
  const macs: string[] = [];
  for (const nic of server.status?.networkInterfaces ?? []) {
    for (const ip of [...(nic.ips ?? []), ...(nic.ip ? [nic.ip] : [])]) if (!ips.includes(ip)) ips.push(ip);
    if (nic.macAddress && !macs.includes(nic.macAddress)) macs.push(nic.macAddress);
  }
  return { uuid: server.spec?.systemUUID, ips, macs };
}

/**
 * Whether this SBC is the one its Server boots now: the maintenance ref when set, else the workload ref. Returns
 * undefined when the Server names neither (older metal-operator, or not yet assigned): no preference then.
 */
export function activeFor(server: ServerObject, sbcNamespace: string, sbcName: string): boolean | undefined {
  const matches = (ref: ObjectRef | null | undefined): boolean => ref?.name === sbcName && (ref.namespace ?? sbcNamespace) === sbcNamespace;
  const maintenance = server.spec?.maintenanceBootConfigurationRef;
  const workload = server.spec?.bootConfigurationRef;
  if (maintenance?.name) return matches(maintenance);
  if (workload?.name) return matches(workload);
  return undefined;
}

/** Keys in `wanted` equal in `have` (deep, order-insensitive for objects): what "already applied" means. */
export function subsetEqual(wanted: unknown, have: unknown): boolean {
  if (Array.isArray(wanted)) return Array.isArray(have) && wanted.length === have.length && wanted.every((item, i) => subsetEqual(item, have[i]));
  if (wanted && typeof wanted === "object") {
    if (!have || typeof have !== "object") return false;
    return Object.entries(wanted).every(([key, value]) => subsetEqual(value, (have as Record<string, unknown>)[key]));
  }
  return wanted === have;
}

/** A boot layer's URL; wantIpxe/wantHttp come from the same layers, so a missing one is a bug, not bad input. */
function layerUrl(url: string | undefined, layer: string): string {
  if (url === undefined) throw new Error(`resolved boot image has no ${layer} layer URL`);
  return url;
}

export class Translator {
  readonly stats = { reconciles: 0, childApplies: 0, childDeletes: 0, statusWrites: 0, errors: 0 };
  readonly sbcs: Reflector;
  readonly servers: Reflector;
  private readonly queue = new KeyedWorkQueue((key) => this.reconcileSafely(key));
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly retryAttempts = new Map<string, number>();
  private synced = 0;

  constructor(private readonly deps: TranslatorDeps) {
    const onError = (kind: string) => (error: Error, _phase: string, retryInMs: number) =>
      deps.log.warn("translator watch interrupted", { kind, error: error.message, retryInMs });
    this.sbcs = new Reflector(deps.client, {
      path: collection(deps.namespace, "serverbootconfigurations"),
      onChanges: (changes) => {
        for (const change of changes) this.enqueue(change.key);
      },
      onSynced: () => this.onSynced(),
      onError: onError("ServerBootConfiguration"),
    });
    // Servers are cluster-scoped.
    this.servers = new Reflector(deps.client, {
      path: collection("", "servers"),
      onChanges: (changes) => {
        for (const change of changes) for (const key of this.sbcsOfServer(change.key)) this.enqueue(key);
      },
      onSynced: () => this.onSynced(),
      onError: onError("Server"),
    });
  }

  /** From the boot-config watch: a child changed (status) or vanished → its owner re-aggregates or re-creates it. */
  childChanged(key: string, object: KubeObjectLike | undefined): void {
    const owner = (object as ChildObject | undefined)?.metadata?.ownerReferences?.find((ref) => ref.kind === "ServerBootConfiguration" && ref.controller);
    const [namespace = ""] = key.split("/"); // split always yields a first element
    if (owner?.name) this.enqueue(`${namespace}/${owner.name}`);
    else if (this.sbcs.objects.has(key)) this.enqueue(key); // same name as an SBC: ours, maybe deleted
  }

  start(): void {
    this.sbcs.start();
    this.servers.start();
    this.queue.start();
    // After a leadership change the caches may already be synced: everything is due again.
    for (const key of this.sbcs.objects.keys()) this.enqueue(key);
  }

  async stop(): Promise<void> {
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    await Promise.all([this.sbcs.stop(), this.servers.stop()]);
    await this.queue.stop();
  }

  private onSynced(): void {
    if (++this.synced === 2) for (const key of this.sbcs.objects.keys()) this.enqueue(key);
  }

  private sbcsOfServer(serverName: string): string[] {
    const keys: string[] = [];
    for (const [key, object] of this.sbcs.objects) if ((object as SbcObject).spec?.serverRef?.name === serverName) keys.push(key);
    return keys;
  }

  private enqueue(key: string): void {
    this.queue.add(key);
    // Until both caches are synced a reconcile would see a partial world (an SBC without its Server).
    if (this.sbcs.synced && this.servers.synced) this.queue.kick();
  }

  private async reconcileSafely(key: string): Promise<void> {
    try {
      const outcome = await this.reconcile(key);
      if (outcome === "retry") this.retryLater(key);
      else this.retryAttempts.delete(key);
    } catch (error) {
      this.stats.errors++;
      this.deps.log.warn("translating ServerBootConfiguration failed; retrying", { sbc: key, error: (error as Error).message });
      this.retryLater(key);
    }
  }

  /** Exponential backoff per SBC (2 s, 4 s, … up to 5 min): a registry blip heals fast, a dead one is not hammered. */
  private retryLater(key: string): void {
    if (this.retryTimers.has(key)) return;
    const attempt = this.retryAttempts.get(key) ?? 0;
    this.retryAttempts.set(key, attempt + 1);
    const delay = Math.min(this.deps.maxRetryMs ?? 300_000, (this.deps.retryMs ?? 2_000) * 2 ** attempt);
    const timer = setTimeout(() => {
      this.retryTimers.delete(key);
      this.enqueue(key);
    }, delay);
    timer.unref?.();
    this.retryTimers.set(key, timer);
  }

  private async resolveImage(reference: string | undefined): Promise<ImageOutcome> {
    if (!reference) return { ok: false, reason: "ImageMissing", message: "spec.image is empty" };
    let parsed: ReturnType<typeof parseImageReference>;
    try {
      parsed = parseImageReference(reference);
    } catch (error) {
      return { ok: false, reason: "InvalidImageReference", message: `spec.image ${JSON.stringify(reference)}: ${(error as Error).message}` };
    }
    if (!this.deps.allowList.isAllowed(parsed.registry)) {
      return {
        ok: false,
        reason: "RegistryNotAllowed",
        message: `registry ${parsed.registry} is not on the allow-list (${this.deps.allowList.entries.join(", ")})`,
      };
    }
    try {
      return { ok: true, image: await this.deps.oci.resolveBootImage(parsed, { architecture: this.deps.architecture }) };
    } catch (error) {
      return { ok: false, reason: "ImageResolutionFailed", message: `${reference}: ${(error as Error).message}` };
    }
  }

  private async reconcile(key: string): Promise<"done" | "retry"> {
    const sbc = this.sbcs.objects.get(key) as SbcObject | undefined;
    if (!sbc) return "done"; // deleted: the garbage collector removes the children it owns
    this.stats.reconciles++;
    const [namespace, name] = key.split("/") as [string, string];
    const conditions: Omit<Condition, "lastTransitionTime">[] = [];
    const generation = sbc.metadata?.generation;
    const gen = generation === undefined ? {} : { observedGeneration: generation };
    const { modes } = this.deps;

    const serverName = sbc.spec?.serverRef?.name;
    const server = serverName ? (this.servers.objects.get(serverName) as ServerObject | undefined) : undefined;
    // `!serverName` is implied by `!server`; it is spelled out so serverName is a string below.
    if (!server || !serverName) {
      conditions.push({
        type: CONDITION_SERVER_FOUND,
        status: "False",
        reason: "ServerNotFound",
        message: `Server ${serverName ?? "(spec.serverRef.name empty)"} does not exist`,
        ...gen,
      });
      await this.writeStatus(key, sbc, "Pending", conditions);
      return "done";
    }
    conditions.push({ type: CONDITION_SERVER_FOUND, status: "True", reason: "ServerFound", message: `Server ${serverName}`, ...gen });

    const resolved = await this.resolveImage(sbc.spec?.image);
    if (!resolved.ok) {
      conditions.push({ type: CONDITION_IMAGE_VALIDATION, status: "False", reason: resolved.reason, message: resolved.message, ...gen });
      await this.writeStatus(key, sbc, "Error", conditions);
      return resolved.reason === "ImageResolutionFailed" ? "retry" : "done";
    }
    const image = resolved.image;
    const hasPxe = Boolean(image.kernel && image.initrd);
    const hasUki = Boolean(image.uki);
    const wantIpxe = modes.ipxe && hasPxe;
    const wantHttp = modes.httpboot && hasUki;
    if (!wantIpxe && !wantHttp) {
      const needs = [modes.ipxe ? "kernel + initrd (iPXE)" : "", modes.httpboot ? "a UKI (HTTP boot)" : ""].filter(Boolean).join(" or ");
      conditions.push({
        type: CONDITION_IMAGE_VALIDATION,
        status: "False",
        reason: "MissingBootLayers",
        message: `image ${sbc.spec?.image} has no ${needs} layers`,
        ...gen,
      });
      await this.writeStatus(key, sbc, "Error", conditions);
      return "done";
    }
    conditions.push({
      type: CONDITION_IMAGE_VALIDATION,
      status: "True",
      reason: "ImageResolved",
      message: `${image.imageName}@${image.manifestDigest} (${[hasPxe ? "kernel+initrd" : "", hasUki ? "UKI" : "", image.squashfs ? "squashfs" : ""].filter(Boolean).join(", ")})`,
      ...gen,
    });

    const identity = serverIdentity(server);
    const active = activeFor(server, namespace, name);
    const urls = bootImageUrls(this.deps.publicUrl, image);
    const owner = {
      apiVersion: METAL_GROUP_VERSION,
      kind: "ServerBootConfiguration",
      name,
      uid: sbc.metadata?.uid ?? "",
      controller: true,
      blockOwnerDeletion: true,
    };
    const metadata = {
      name,
      namespace,
      labels: { [SERVER_LABEL]: serverName },
      ...(active === undefined ? {} : { annotations: { [ACTIVE_ANNOTATION]: String(active) } }),
      ownerReferences: [owner],
    };
    const ignitionSecretRef = sbc.spec?.ignitionSecretRef?.name ? { ignitionSecretRef: { name: sbc.spec.ignitionSecretRef.name } } : {};
    const childStates: string[] = [];

    for (const [kind, wanted, enabled] of [
      ["IPXEBootConfig", wantIpxe, modes.ipxe],
      ["HTTPBootConfig", wantHttp, modes.httpboot],
    ] as const) {
      const existing = this.deps.source.rawObject(kind, key) as ChildObject | undefined;
      const conditionType = kind === "IPXEBootConfig" ? CONDITION_IPXE_BOOT_READY : CONDITION_HTTP_BOOT_READY;
      if (!enabled) continue;
      if (!wanted) {
        // The image lacks this mode's layers: not an error as long as the other mode serves the machine.
        if (existing && this.ownedBy(existing, sbc)) await this.deleteChild(kind, key);
        conditions.push({
          type: conditionType,
          status: "False",
          reason: "NotApplicable",
          message: `image has no ${kind === "IPXEBootConfig" ? "kernel + initrd" : "UKI"} layers`,
          ...gen,
        });
        continue;
      }
      const spec =
        kind === "IPXEBootConfig"
          ? {
              ...(identity.uuid ? { systemUUID: identity.uuid } : {}),
              systemIPs: identity.ips,
              kernelURL: layerUrl(urls.kernel, "kernel"),
              initrdURL: layerUrl(urls.initrd, "initrd"),
              ...(urls.squashfs ? { squashfsURL: urls.squashfs } : {}),
              ...ignitionSecretRef,
            }
          : {
              ...(identity.uuid ? { systemUUID: identity.uuid } : {}),
              networkIdentifiers: [...identity.ips, ...identity.macs],
              ukiURL: layerUrl(urls.uki, "UKI"),
              ...ignitionSecretRef,
            };
      const desired = { apiVersion: `${API_GROUP}/${API_VERSION}`, kind, metadata, spec };
      if (!existing || !subsetEqual({ metadata: { labels: metadata.labels, annotations: metadata.annotations ?? {} }, spec }, existing)) {
        const path = `${collection(namespace, `${kind.toLowerCase()}s`, `${API_GROUP}/${API_VERSION}`)}/${encodeURIComponent(name)}`;
        await serverSideApply(this.deps.client, path, desired, TRANSLATOR_FIELD_MANAGER);
        this.stats.childApplies++;
      }
      const state = existing?.status?.state ?? "Pending";
      childStates.push(state);
      conditions.push({
        type: conditionType,
        status: state === "Ready" ? "True" : "False",
        reason: state === "Ready" ? "BootConfigReady" : state === "Error" ? "BootConfigError" : "BootConfigPending",
        message: `${kind} ${key} is ${state}`,
        ...gen,
      });
    }
    const state = childStates.includes("Error") ? "Error" : childStates.every((s) => s === "Ready") ? "Ready" : "Pending";
    await this.writeStatus(key, sbc, state, conditions);
    return "done";
  }

  private ownedBy(child: ChildObject, sbc: SbcObject): boolean {
    return Boolean(child.metadata?.ownerReferences?.some((ref) => ref.kind === "ServerBootConfiguration" && ref.uid === sbc.metadata?.uid));
  }

  private async deleteChild(kind: "IPXEBootConfig" | "HTTPBootConfig", key: string): Promise<void> {
    const [namespace, name] = key.split("/") as [string, string];
    try {
      await this.deps.client.request("DELETE", `${collection(namespace, `${kind.toLowerCase()}s`, `${API_GROUP}/${API_VERSION}`)}/${encodeURIComponent(name)}`);
      this.stats.childDeletes++;
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
    }
  }

  /** Single writer of the SBC's status; writes only when state or a condition (times aside) changed. */
  private async writeStatus(key: string, sbc: SbcObject, state: string, wanted: Omit<Condition, "lastTransitionTime">[]): Promise<void> {
    const existing = sbc.status?.conditions ?? [];
    const now = new Date();
    const conditions: Condition[] = wanted.map((condition) => withTransitionTime(condition, existing, now));
    // The same set of types, each saying the same: a condition type this writer dropped also counts as a change.
    const unchanged =
      sbc.status?.state === state &&
      conditions.length === existing.length &&
      conditions.every((condition) =>
        conditionMatches(
          condition,
          existing.find((c) => c.type === condition.type),
        ),
      );
    if (unchanged) return;
    const [namespace, name] = key.split("/") as [string, string];
    const path = `${collection(namespace, "serverbootconfigurations")}/${encodeURIComponent(name)}/status`;
    const body = { apiVersion: METAL_GROUP_VERSION, kind: "ServerBootConfiguration", metadata: { name, namespace }, status: { state, conditions } };
    await serverSideApply(this.deps.client, path, body, TRANSLATOR_FIELD_MANAGER);
    this.stats.statusWrites++;
    if (sbc.status?.state !== state) this.deps.log.info("ServerBootConfiguration state changed", { sbc: key, from: sbc.status?.state ?? "(none)", to: state });
  }
}
