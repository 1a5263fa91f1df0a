// What the endpoint families receive, and the few helpers they share.
import type { Cidr } from "../api/canonical.ts";
import type { AccessEvent, IgnitionAccessPolicy } from "../boot/access/policy.ts";
import type { BootTimelines } from "../boot/boot-timeline.ts";
import type { ForwardedForMode } from "../boot/httpboot.ts";
import type { IpxeTemplate } from "../boot/ipxe-template.ts";
import type { ServedEvent } from "../boot/served.ts";
import type { BootStore } from "../boot/store.ts";
import type { TrustBundle } from "../boot/trust-formats.ts";
import type { Logger } from "../observability/log.ts";
import type { BootMetrics } from "../observability/metrics.ts";
import type { ImageProxyDeps } from "./image-proxy.ts";

export interface HttpSettings {
  /** Base URL machines use to reach this appliance; when unset, taken from the request's Host header. */
  publicUrl: string | undefined;
  trustedProxies: readonly Cidr[];
  /** How a trusted proxy's X-Forwarded-For is read (--forwarded-for); "fedhcp" when unset. */
  forwardedFor?: ForwardedForMode;
  /** What /httpboot answers for unknown machines: --default-uki-url, else the UKI of --default-httpboot-oci-image. */
  defaultUkiUrl: () => string | undefined;
  /** "namespace/name" of the IPXEBootConfig /ipxe/{uuid} serves machines no config names (--default-ipxe-config). */
  defaultIpxeConfig?: string | undefined;
  ukiDir: string | undefined;
  /** Files /uki/ serves when there is no ukiDir (the embedded samples' placeholders), by path below /uki/. */
  builtInBootFiles?: ReadonlyMap<string, string>;
  /** --ztp-onie-at-root: ONIE's installer/updater names are answered at / as well as under /ztp/onie/. */
  ztpOnieAtRoot?: boolean;
}

/** What /debug/machines shows: the boot timelines and the stall threshold (--boot-stall-timeout, in ms). */
export interface DebugDeps {
  timelines: BootTimelines;
  stallAfterMs: number;
}

/** Everything the families need; a family that needs something new gets a field here, filled in by cli/serve.ts. */
export interface HttpDeps {
  store: BootStore;
  settings: HttpSettings;
  /** Current default iPXE template (reloaded when its file changes). */
  ipxeTemplate: () => IpxeTemplate;
  metrics: BootMetrics;
  log: Logger;
  onServed: (event: ServedEvent) => void;
  /** A remembered answer fetched again at once by the same client (isRecentRepeat): counted, not recorded. */
  onServedRepeat?: (milestone: ServedEvent["milestone"]) => void;
  /** Extra readiness condition (e.g. Kubernetes caches synced); returns the reason when not ready. */
  readiness?: () => string | null;
  imageProxy: ImageProxyDeps;
  /** What /certs serves (--ca-file plus the serving chain's anchor); changes when the certificate is rotated. */
  trust?: () => TrustBundle;
  /** --ignition-access bound: tokens in iPXE scripts, /ignition checked; unset: open (anyone may fetch). */
  ignitionAccess?: IgnitionAccessPolicy;
  /** A refusal or contest happened (Kubernetes mode turns these into rate-limited Warning Events). */
  onAccessEvent?: (event: AccessEvent) => void;
  /** The boot timelines behind /debug/machines; absent: those routes answer 404. */
  debug?: DebugDeps;
  /** Registers what serves only while a boot storm lasts (the answer memos), to be let go once it is over. */
  afterStorm?: (release: () => void) => void;
}

type PublicUrl = { ok: true; url: string } | { ok: false; reason: string };

/**
 * The base URL rendered into scripts and answers: --public-url, else the request's Host, with the scheme of the
 * listener the request arrived on (Bun's request.url is https:// on the TLS listener). A missing, empty or
 * malformed Host ("evil/x@y", HTTP/1.0 without one) is refused rather than guessed: a machine handed
 * "http://localhost" would chain to itself.
 */
export function publicUrlFor(request: Request, settings: HttpSettings): PublicUrl {
  if (settings.publicUrl) return { ok: true, url: settings.publicUrl };
  const host = request.headers.get("host");
  if (host && /^[A-Za-z0-9.\-:[\]]+$/.test(host)) return { ok: true, url: `${request.url.startsWith("https:") ? "https" : "http"}://${host}` };
  const shown = host === null ? "no Host header" : `Host header ${JSON.stringify(host.slice(0, 100))}`;
  return { ok: false, reason: `cannot render boot URLs: ${shown} and no --public-url is set` };
}

/** Config URLs may be paths on this appliance ("/uki/vmlinuz"); machines need absolute URLs. */
export function absoluteBootUrl(url: string, publicUrl: string): string {
  return url.startsWith("/") ? `${publicUrl}${url}` : url;
}
