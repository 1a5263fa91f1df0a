// The one definition of "can this config be served, and if not, why". The boot endpoints answer a machine with
// these verdicts (status and message), and the diagnosis built on them feeds the status conditions, `validate` and
// `explain`, so the 404/500 a machine gets and what an operator reads can never disagree. Pure: index and caches in,
// verdicts out.
import type { HTTPBootConfig, IPXEBootConfig } from "../api/index.ts";
import { objectKey } from "../api/index.ts";
import type { BootIndex } from "../index/boot-index.ts";
import type { IgnitionCache, IgnitionDocument } from "./ignition.ts";
import type { IpxeScriptCache } from "./ipxe-scripts.ts";
import type { IpxeTemplate } from "./ipxe-template.ts";
import { namespaceOf } from "./resolve.ts";
import { type Servable, unservable } from "./verdict.ts";

/** The per-secret caches the verdicts read (a BootStore is one). */
export interface SecretCaches {
  ignition: IgnitionCache;
  ipxeScripts: IpxeScriptCache;
}

type BootConfig = IPXEBootConfig | HTTPBootConfig;

/** /ignition/{uuid} for a machine this config answers. */
export function ignitionServability(index: BootIndex, caches: SecretCaches, config: BootConfig): Servable<IgnitionDocument> {
  const name = config.spec.ignitionSecretRef?.name;
  const owner = `${config.kind} ${objectKey(config.metadata)}`;
  if (!name) return unservable(404, "NotConfigured", `${owner} has no ignitionSecretRef`);
  const namespace = namespaceOf(config.metadata);
  const entry = index.secret(namespace, name);
  if (!entry) return unservable(404, "SecretNotFound", `ignition secret ${namespace}/${name} referenced by ${owner} does not exist`);
  return caches.ignition.outcomeFor(entry);
}

/**
 * The same verdict, once any translation of the config's ignition secret that is still under way has finished:
 * what /ignition answers (it waits for that one result, nothing else does) and what a diagnosis should read.
 */
export async function settledIgnitionServability(index: BootIndex, caches: SecretCaches, config: BootConfig): Promise<Servable<IgnitionDocument>> {
  await settleConfig(index, caches, config);
  return ignitionServability(index, caches, config);
}

/**
 * Resolves once the config's ignition secret and (for iPXE) its script secret, as `index` has them, are translated
 * and parsed; at once when nothing is pending.
 */
export async function settleConfig(index: BootIndex, caches: SecretCaches, config: BootConfig): Promise<void> {
  const name = config.spec.ignitionSecretRef?.name;
  const entry = name ? index.secret(namespaceOf(config.metadata), name) : undefined;
  if (entry) await caches.ignition.settled(entry);
  if (config.kind === "IPXEBootConfig") await settleIpxeScript(index, caches, config);
}

async function settleIpxeScript(index: BootIndex, caches: SecretCaches, config: IPXEBootConfig): Promise<void> {
  const name = config.spec.ipxeScriptSecretRef?.name;
  const entry = name ? index.secret(namespaceOf(config.metadata), name) : undefined;
  if (entry) await caches.ipxeScripts.settled(entry);
}

/** The same verdict once the config's own script secret is parsed: what /ipxe/{uuid} answers (it waits for nothing else). */
export async function settledIpxeScriptServability(
  index: BootIndex,
  caches: SecretCaches,
  config: IPXEBootConfig,
): Promise<Servable<{ template: IpxeTemplate | null }>> {
  await settleIpxeScript(index, caches, config);
  return ipxeScriptServability(index, caches, config);
}

/** /ipxe/{uuid}: the custom script from ipxeScriptSecretRef, or `template: null` for the default template. */
export function ipxeScriptServability(index: BootIndex, caches: SecretCaches, config: IPXEBootConfig): Servable<{ template: IpxeTemplate | null }> {
  const name = config.spec.ipxeScriptSecretRef?.name;
  if (!name) return DEFAULT_TEMPLATE;
  const namespace = namespaceOf(config.metadata);
  const entry = index.secret(namespace, name);
  if (!entry) {
    return unservable(
      404,
      "SecretNotFound",
      `ipxe-script secret ${namespace}/${name} referenced by IPXEBootConfig ${objectKey(config.metadata)} does not exist`,
    );
  }
  return caches.ipxeScripts.outcomeFor(entry);
}

const DEFAULT_TEMPLATE = { ok: true, template: null } as const;

/** /httpboot for a machine this config claims: the UKI URL as written (relative URLs are made absolute by HTTP). */
/** A config without ukiURL (absent or "", as the Go operator writes it) gets the default UKI, if there is one. */
export function httpBootServability(config: HTTPBootConfig, defaultUkiUrl?: string): Servable<{ ukiUrl: string; isDefault: boolean }> {
  const ukiUrl = config.spec.ukiURL;
  if (ukiUrl) return { ok: true, ukiUrl, isDefault: false };
  if (defaultUkiUrl) return { ok: true, ukiUrl: defaultUkiUrl, isDefault: true };
  return unservable(404, "NotConfigured", `HTTPBootConfig ${objectKey(config.metadata)} has no ukiURL and no default UKI is configured`);
}

/** Every endpoint a config answers on, with its verdict. */
type ConfigServability =
  | { kind: "IPXEBootConfig"; ipxe: Servable<{ template: IpxeTemplate | null }>; ignition: Servable<IgnitionDocument> }
  | { kind: "HTTPBootConfig"; httpboot: Servable<{ ukiUrl: string; isDefault: boolean }>; ignition: Servable<IgnitionDocument> };

export function servability(index: BootIndex, caches: SecretCaches, config: BootConfig): ConfigServability {
  const ignition = ignitionServability(index, caches, config);
  if (config.kind === "IPXEBootConfig") return { kind: config.kind, ipxe: ipxeScriptServability(index, caches, config), ignition };
  return { kind: config.kind, httpboot: httpBootServability(config), ignition };
}
