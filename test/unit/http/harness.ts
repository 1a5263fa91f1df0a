// In-process HTTP tests: the real app (createApp, every family, the middleware) on a real BootStore, driven with
// app.request(). The client address comes the way Bun.serve provides it — a server object with requestIP() passed
// as the env of fetch — so no test-only path exists in the production code.
import type { SocketAddress } from "bun";
import { type Cidr, parseCidr } from "../../../src/api/canonical.ts";
import type { HTTPBootConfig, IPXEBootConfig, Secret } from "../../../src/api/index.ts";
import { DEFAULT_IPXE_TEMPLATE, parseIpxeTemplate } from "../../../src/boot/ipxe-template.ts";
import type { ServedEvent } from "../../../src/boot/served.ts";
import { BootStore } from "../../../src/boot/store.ts";
import { type BootApp, createApp } from "../../../src/http/app.ts";
import type { HttpDeps, HttpSettings } from "../../../src/http/context.ts";
import type { ImageProxyDeps } from "../../../src/http/image-proxy.ts";
import { createLogger } from "../../../src/observability/log.ts";
import { createBootMetrics } from "../../../src/observability/metrics.ts";
import { parseRegistryAllowList } from "../../../src/oci/allowlist.ts";
import { OciClient } from "../../../src/oci/client.ts";

export interface Resources {
  ipxe?: IPXEBootConfig[];
  http?: HTTPBootConfig[];
  secrets?: Secret[];
}

export function storeWith(resources: Resources): BootStore {
  const store = new BootStore();
  store.apply({ snapshot: { ipxeBootConfigs: resources.ipxe ?? [], httpBootConfigs: resources.http ?? [], secrets: resources.secrets ?? [] }, problems: [] });
  return store;
}

export interface TestApp {
  app: BootApp;
  deps: HttpDeps;
  served: ServedEvent[];
  /** Milestones of remembered answers fetched again at once by the same client (counted, not recorded). */
  repeats: ServedEvent["milestone"][];
  logs: { level: string; msg: string; [field: string]: unknown }[];
  /** A request as a machine at `from` (default 127.0.0.1) would send it. */
  request(path: string, init?: RequestInit & { from?: string }): Promise<Response>;
}

export interface TestAppOptions {
  settings?: Partial<Omit<HttpSettings, "trustedProxies">> & { trustedProxies?: string[] };
  imageProxy?: Partial<ImageProxyDeps>;
  readiness?: () => string | null;
  /** Leave the store unloaded (before the first snapshot). */
  loaded?: boolean;
  afterStorm?: HttpDeps["afterStorm"];
}

/** What Bun.serve hands fetch as its second argument, as far as getConnInfo reads it. */
export function peer(address: string): { requestIP(request: Request): SocketAddress } {
  return { requestIP: () => ({ address, family: address.includes(":") ? "IPv6" : "IPv4", port: 40_000 }) };
}

export function testApp(resources: Resources = {}, options: TestAppOptions = {}): TestApp {
  const store = options.loaded === false ? new BootStore() : storeWith(resources);
  const served: ServedEvent[] = [];
  const repeats: ServedEvent["milestone"][] = [];
  const logs: TestApp["logs"] = [];
  const log = createLogger("debug", (line) => logs.push(JSON.parse(line)));
  const trustedProxies = (options.settings?.trustedProxies ?? []).map((text): Cidr => {
    const cidr = parseCidr(text);
    if (!cidr) throw new Error(`bad CIDR ${text}`);
    return cidr;
  });
  const template = parseIpxeTemplate(DEFAULT_IPXE_TEMPLATE);
  const deps: HttpDeps = {
    store,
    settings: {
      publicUrl: options.settings && "publicUrl" in options.settings ? options.settings.publicUrl : "http://boot.test:8082",
      trustedProxies,
      defaultUkiUrl: options.settings?.defaultUkiUrl ?? (() => undefined),
      ukiDir: options.settings?.ukiDir,
      defaultIpxeConfig: options.settings?.defaultIpxeConfig,
    },
    ipxeTemplate: () => template,
    metrics: createBootMetrics(),
    log,
    onServed: (event) => served.push(event),
    onServedRepeat: (milestone) => repeats.push(milestone),
    ...(options.readiness ? { readiness: options.readiness } : {}),
    ...(options.afterStorm ? { afterStorm: options.afterStorm } : {}),
    imageProxy: {
      client: new OciClient({ requestTimeoutMs: 2_000 }),
      allowList: parseRegistryAllowList("registry.test"),
      isReferenced: () => true,
      log: (level, msg, fields) => logs.push({ level, msg, ...fields }),
      ...options.imageProxy,
    },
  };
  const app = createApp(deps);
  return {
    app,
    deps,
    served,
    repeats,
    logs,
    request: async (path, init = {}) => {
      const { from = "127.0.0.1", ...rest } = init;
      return app.request(path, rest, peer(from));
    },
  };
}
