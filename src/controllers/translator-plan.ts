// The metal-operator translator's decision, pure: from a ServerBootConfiguration (SBC), its Server, its resolved image
// and the children that exist now, the children there should be (server-side apply bodies, or deletions) and the
// SBC's status. translator.ts gathers the inputs (caches, registry) and carries the plan out; every branch of the
// translation is unit-tested here without an API server or a registry.
import { API_GROUP, API_VERSION, type Condition } from "../api/index.ts";
import { ACTIVE_ANNOTATION } from "../index/boot-index.ts";
import { apiVersionOf, type NamespacedName, SERVER_BOOT_CONFIGURATIONS } from "../kube/paths.ts";
import { type BootImage, bootImageUrls, type ImageReference, parseImageReference, type RegistryAllowList } from "../oci/index.ts";
import type { ConfigKind } from "./apply.ts";
import { conditionMatches, withTransitionTime } from "./conditions.ts";

const SERVER_LABEL = "boot.ironcore.dev/server";

const CONDITION_IMAGE_VALIDATION = "ImageValidation";
const CONDITION_IPXE_BOOT_READY = "IPXEBootReady";
const CONDITION_HTTP_BOOT_READY = "HTTPBootReady";
const CONDITION_SERVER_FOUND = "ServerFound";

interface ObjectRef {
  name?: string;
  namespace?: string;
}

export interface ServerObject {
  metadata?: { name?: string };
  spec?: { systemUUID?: string; bootConfigurationRef?: ObjectRef | null; maintenanceBootConfigurationRef?: ObjectRef | null };
  status?: { networkInterfaces?: { ip?: string; ips?: string[]; macAddress?: string }[] };
}

export interface SbcObject {
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number; resourceVersion?: string };
  spec?: { serverRef?: { name?: string }; image?: string; ignitionSecretRef?: { name?: string } };
  status?: { state?: string; conditions?: Condition[] };
}

export interface ChildObject {
  metadata?: {
    name?: string;
    namespace?: string;
    ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: { state?: string };
}

export interface TranslatorModes {
  ipxe: boolean;
  httpboot: boolean;
}

export type ImageOutcome = { ok: true; image: BootImage } | { ok: false; reason: string; message: string };

/** The Server, and (only when there is one) the image resolved for it: no Server, no registry round trip. */
export type TranslationTarget = { server: undefined } | { server: ServerObject; image: ImageOutcome };

export interface TranslationInput {
  /** The SBC's namespace and name (its children get the same). */
  ref: NamespacedName;
  sbc: SbcObject;
  target: TranslationTarget;
  /** The children as the cache holds them now. */
  children: Partial<Record<ConfigKind, ChildObject>>;
  modes: TranslatorModes;
  /** Base for proxy URLs in children; empty: "/image?…" paths resolved per replica against its --public-url. */
  publicUrl: string;
  now: Date;
}

interface DesiredChild {
  apiVersion: string;
  kind: ConfigKind;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences: { apiVersion: string; kind: string; name: string; uid: string; controller: boolean; blockOwnerDeletion: boolean }[];
  };
  spec: Record<string, unknown>;
}

export type ChildAction = { action: "apply"; kind: ConfigKind; object: DesiredChild } | { action: "delete"; kind: ConfigKind };

export interface SbcStatus {
  state: string;
  conditions: Condition[];
}

interface TranslationPlan {
  /** In order; only the ones that change something (an up-to-date child is not re-applied). */
  children: ChildAction[];
  state: string;
  /** undefined: the status already says this (times aside), nothing to write. */
  status: SbcStatus | undefined;
  /** Set when the image could not be resolved (registry down, credentials): worth retrying with backoff. */
  retry: string | undefined;
}

type WantedCondition = Omit<Condition, "lastTransitionTime">;

/** Machine addresses from the Server's NICs, in order, de-duplicated. */
function serverIdentity(server: ServerObject): { uuid: string | undefined; ips: string[]; macs: string[] } {
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

/** The checks on spec.image that need no registry: present, parseable, on the allow-list. */
export function checkImageReference(
  reference: string | undefined,
  allowList: RegistryAllowList,
): { ok: true; reference: ImageReference } | { ok: false; reason: string; message: string } {
  if (!reference) return { ok: false, reason: "ImageMissing", message: "spec.image is empty" };
  let parsed: ImageReference;
  try {
    parsed = parseImageReference(reference);
  } catch (error) {
    return { ok: false, reason: "InvalidImageReference", message: `spec.image ${JSON.stringify(reference)}: ${(error as Error).message}` };
  }
  if (!allowList.isAllowed(parsed.registry)) {
    return { ok: false, reason: "RegistryNotAllowed", message: `registry ${parsed.registry} is not on the allow-list (${allowList.entries.join(", ")})` };
  }
  return { ok: true, reference: parsed };
}

function ownedBy(child: ChildObject, sbc: SbcObject): boolean {
  return Boolean(child.metadata?.ownerReferences?.some((ref) => ref.kind === "ServerBootConfiguration" && ref.uid === sbc.metadata?.uid));
}

/**
 * Whether applying would change nothing we own: our labels and spec fields as wanted, and the active annotation
 * exactly as wanted (present with the same value, or absent: applying without it removes a stale one).
 */
function childUpToDate(metadata: DesiredChild["metadata"], spec: Record<string, unknown>, existing: ChildObject): boolean {
  const active = existing.metadata?.annotations?.[ACTIVE_ANNOTATION];
  return subsetEqual({ metadata: { labels: metadata.labels }, spec }, existing) && active === metadata.annotations?.[ACTIVE_ANNOTATION];
}

/** The SBC's status to write, or undefined when state and every condition (times aside) already say this. */
export function planSbcStatus(sbc: SbcObject, state: string, wanted: readonly WantedCondition[], now: Date): SbcStatus | undefined {
  const existing = sbc.status?.conditions ?? [];
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
  return unchanged ? undefined : { state, conditions };
}

export function planTranslation(input: TranslationInput): TranslationPlan {
  const { ref, sbc, target, modes } = input;
  const generation = sbc.metadata?.generation;
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  const conditions: WantedCondition[] = [];
  const finish = (state: string, children: ChildAction[] = [], retry: string | undefined = undefined): TranslationPlan => ({
    children,
    state,
    status: planSbcStatus(sbc, state, conditions, input.now),
    retry,
  });

  const serverName = sbc.spec?.serverRef?.name;
  if (!target.server) {
    conditions.push({
      type: CONDITION_SERVER_FOUND,
      status: "False",
      reason: "ServerNotFound",
      message: `Server ${serverName ?? "(spec.serverRef.name empty)"} does not exist`,
      ...gen,
    });
    return finish("Pending");
  }
  const server = target.server;
  conditions.push({ type: CONDITION_SERVER_FOUND, status: "True", reason: "ServerFound", message: `Server ${serverName}`, ...gen });

  const resolved = target.image;
  if (!resolved.ok) {
    conditions.push({ type: CONDITION_IMAGE_VALIDATION, status: "False", reason: resolved.reason, message: resolved.message, ...gen });
    return finish("Error", [], resolved.reason === "ImageResolutionFailed" ? resolved.message : undefined);
  }
  const image = resolved.image;
  const urls = bootImageUrls(input.publicUrl, image);
  const pxe = urls.kernel && urls.initrd ? { kernelURL: urls.kernel, initrdURL: urls.initrd } : undefined;
  const ukiURL = urls.uki;
  const wanted: Record<ConfigKind, boolean> = { IPXEBootConfig: modes.ipxe && pxe !== undefined, HTTPBootConfig: modes.httpboot && ukiURL !== undefined };
  if (!wanted.IPXEBootConfig && !wanted.HTTPBootConfig) {
    const needs = [modes.ipxe ? "kernel + initrd (iPXE)" : "", modes.httpboot ? "a UKI (HTTP boot)" : ""].filter(Boolean).join(" or ");
    conditions.push({
      type: CONDITION_IMAGE_VALIDATION,
      status: "False",
      reason: "MissingBootLayers",
      message: `image ${sbc.spec?.image} has no ${needs} layers`,
      ...gen,
    });
    return finish("Error");
  }
  const layers = [pxe ? "kernel+initrd" : "", ukiURL ? "UKI" : "", image.squashfs ? "squashfs" : ""].filter(Boolean).join(", ");
  conditions.push({
    type: CONDITION_IMAGE_VALIDATION,
    status: "True",
    reason: "ImageResolved",
    message: `${image.imageName}@${image.manifestDigest} (${layers})`,
    ...gen,
  });

  const identity = serverIdentity(server);
  const active = activeFor(server, ref.namespace, ref.name);
  const metadata: DesiredChild["metadata"] = {
    name: ref.name,
    namespace: ref.namespace,
    labels: { [SERVER_LABEL]: serverName ?? "" },
    ...(active === undefined ? {} : { annotations: { [ACTIVE_ANNOTATION]: String(active) } }),
    ownerReferences: [
      {
        apiVersion: apiVersionOf(SERVER_BOOT_CONFIGURATIONS),
        kind: "ServerBootConfiguration",
        name: ref.name,
        uid: sbc.metadata?.uid ?? "",
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
  const ignitionSecretRef = sbc.spec?.ignitionSecretRef?.name ? { ignitionSecretRef: { name: sbc.spec.ignitionSecretRef.name } } : {};
  const uuid = identity.uuid ? { systemUUID: identity.uuid } : {};
  const specs: Record<ConfigKind, Record<string, unknown>> = {
    IPXEBootConfig: { ...uuid, systemIPs: identity.ips, ...pxe, ...(urls.squashfs ? { squashfsURL: urls.squashfs } : {}), ...ignitionSecretRef },
    HTTPBootConfig: { ...uuid, networkIdentifiers: [...identity.ips, ...identity.macs], ukiURL, ...ignitionSecretRef },
  };
  const actions: ChildAction[] = [];
  const childStates: string[] = [];
  for (const kind of ["IPXEBootConfig", "HTTPBootConfig"] as const) {
    const enabled = kind === "IPXEBootConfig" ? modes.ipxe : modes.httpboot;
    if (!enabled) continue;
    const existing = input.children[kind];
    const conditionType = kind === "IPXEBootConfig" ? CONDITION_IPXE_BOOT_READY : CONDITION_HTTP_BOOT_READY;
    if (!wanted[kind]) {
      // The image lacks this mode's layers: not an error as long as the other mode serves the machine.
      if (existing && ownedBy(existing, sbc)) actions.push({ action: "delete", kind });
      conditions.push({
        type: conditionType,
        status: "False",
        reason: "NotApplicable",
        message: `image has no ${kind === "IPXEBootConfig" ? "kernel + initrd" : "UKI"} layers`,
        ...gen,
      });
      continue;
    }
    const spec = specs[kind];
    if (!existing || !childUpToDate(metadata, spec, existing)) {
      actions.push({ action: "apply", kind, object: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind, metadata, spec } });
    }
    const state = existing?.status?.state ?? "Pending";
    childStates.push(state);
    conditions.push({
      type: conditionType,
      status: state === "Ready" ? "True" : "False",
      reason: state === "Ready" ? "BootConfigReady" : state === "Error" ? "BootConfigError" : "BootConfigPending",
      message: `${kind} ${ref.namespace}/${ref.name} is ${state}`,
      ...gen,
    });
  }
  const state = childStates.includes("Error") ? "Error" : childStates.every((s) => s === "Ready") ? "Ready" : "Pending";
  return finish(state, actions);
}
