// What every route module receives, and the few helpers they share.
import type { Context } from "hono";
import type { Cidr } from "../api/canonical.ts";
import type { IpxeTemplate } from "../boot/ipxe-template.ts";
import type { ServedEvent } from "../boot/served.ts";
import type { BootStore } from "../boot/store.ts";
import type { Logger } from "../observability/log.ts";
import type { BootMetrics } from "../observability/metrics.ts";

export interface HttpSettings {
  /** Base URL machines use to reach this appliance; when unset, taken from the request's Host header. */
  publicUrl: string | undefined;
  trustedProxies: readonly Cidr[];
  /** What /httpboot answers for unknown machines: --default-uki-url, else the UKI of --default-httpboot-oci-image. */
  defaultUkiUrl: () => string | undefined;
  ukiDir: string | undefined;
}

export interface HttpDeps {
  store: BootStore;
  settings: HttpSettings;
  /** Current default iPXE template (reloaded when its file changes). */
  ipxeTemplate: () => IpxeTemplate;
  metrics: BootMetrics;
  log: Logger;
  onServed: (event: ServedEvent) => void;
}

export type AppEnv = { Variables: { clientAddress: string } };

/** One-line plain-text error body, the format every non-2xx answer uses. */
export function textError(c: Context, status: 400 | 403 | 404 | 405 | 416 | 500 | 501 | 502 | 503, reason: string): Response {
  return c.body(`${reason.replace(/[\r\n]+/g, " ")}\n`, status, { "Content-Type": "text/plain; charset=utf-8" });
}

export function publicUrlFor(c: Context, settings: HttpSettings): string {
  if (settings.publicUrl) return settings.publicUrl;
  const host = c.req.header("host");
  return `http://${host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? host : "localhost"}`;
}

/** Config URLs may be paths on this appliance ("/uki/vmlinuz"); machines need absolute URLs. */
export function absoluteBootUrl(url: string, publicUrl: string): string {
  return url.startsWith("/") ? `${publicUrl}${url}` : url;
}
