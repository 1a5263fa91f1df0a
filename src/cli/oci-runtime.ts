// The OCI side of the appliance, shared by the image proxy routes, the default-UKI resolver and (in Kubernetes mode)
// the metal-operator translator: one client, so tokens and manifest resolutions are cached once per process.
import { namespaceOf } from "../boot/resolve.ts";
import type { ImageProxyDeps } from "../http/image-proxy.ts";
import type { BootIndex } from "../index/boot-index.ts";
import type { Logger } from "../observability/log.ts";
import type { BootMetrics } from "../observability/metrics.ts";
import { Counter } from "../observability/metrics.ts";
import {
  type Architecture,
  BlobCache,
  blobKey,
  httpBootUkiUrl,
  OciClient,
  parseImageReference,
  parseRedirectHostList,
  parseRegistryAllowList,
  proxiedBlobOfUrl,
  type RegistryAllowList,
} from "../oci/index.ts";
import type { ServeOptions } from "./options.ts";

export interface OciRuntime {
  client: OciClient;
  allowList: RegistryAllowList;
  architecture: Architecture;
  /** What the image proxy family (http/image-proxy.ts) serves with. */
  imageProxy: ImageProxyDeps;
  /** UKI URL (a path on this appliance) of --default-httpboot-oci-image, once resolved. */
  defaultUkiFromImage(): string | undefined;
  close(): Promise<void>;
}

/** The boot configs' URLs (kernel, initrd, squashfs, UKI), and a number that changes whenever they may have. */
interface BootConfigUrls {
  generation(): number;
  urls(): Iterable<string>;
}

/** Proxy URLs written into a custom iPXE script (its `kernel`/`initrd` lines may name /image?… or /httpboot/…). */
const PROXY_URL_IN_TEXT = /\S*(?:\/image\?\S+|\/httpboot\/\S+\.efi)/g;

/**
 * Every boot-file URL of the index's configs, including proxy URLs in their custom iPXE scripts: the proxy serves
 * only the blobs these (and the default image) name.
 */
export function bootConfigUrls(index: BootIndex): string[] {
  const urls: string[] = [];
  for (const config of index.ipxeBootConfigs) {
    for (const url of [config.spec.kernelURL, config.spec.initrdURL, config.spec.squashfsURL]) if (url) urls.push(url);
    const scriptSecret = config.spec.ipxeScriptSecretRef?.name;
    const entry = scriptSecret ? index.secret(namespaceOf(config.metadata), scriptSecret) : undefined;
    for (const text of entry?.values.values() ?? []) urls.push(...(text.match(PROXY_URL_IN_TEXT) ?? []));
  }
  for (const config of index.httpBootConfigs) if (config.spec.ukiURL) urls.push(config.spec.ukiURL);
  // Switch images named as /image?… are redirected to the proxy, which serves only referenced blobs.
  for (const config of index.switchBootConfigs) {
    for (const url of [config.spec.onie?.installerURL, config.spec.onie?.updaterURL]) if (url) urls.push(url);
  }
  return urls;
}

export async function createOciRuntime(options: ServeOptions, log: Logger, metrics: BootMetrics, configs: BootConfigUrls): Promise<OciRuntime> {
  const ociLog = (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void => log[level](msg, fields);
  const upstream = metrics.registry.register(new Counter("boot_operator_registry_requests_total", "Requests to OCI registries, by registry, kind and status."));
  const mismatches = metrics.registry.register(
    new Counter("boot_operator_blob_digest_mismatches_total", "Proxied blobs whose bytes did not match their digest (transfer aborted)."),
  );
  const allowList = parseRegistryAllowList(options["allowed-registries"]);
  const client = new OciClient({
    plainHttpRegistries: options["insecure-registries"],
    redirects: { allowedRegistries: allowList.entries, hosts: parseRedirectHostList(options["allowed-redirect-hosts"]) },
    log: ociLog,
    onUpstreamRequest: (event) => upstream.inc({ registry: event.registry, kind: event.kind, status: String(event.status) }),
  });
  const blobCache = options["blob-cache-dir"]
    ? await BlobCache.open({ directory: options["blob-cache-dir"], maxBytes: options["blob-cache-size"] * 1024 * 1024, log: ociLog })
    : undefined;
  let defaultUki: string | undefined;
  // Rebuilt only when the configs or the default UKI changed, not per request.
  let referenced = { generation: -1, defaultUki: undefined as string | undefined, keys: new Set<string>() };
  const referencedKeys = (): Set<string> => {
    const generation = configs.generation();
    if (referenced.generation === generation && referenced.defaultUki === defaultUki) return referenced.keys;
    const keys = new Set<string>();
    for (const url of [...configs.urls(), ...(defaultUki ? [defaultUki] : [])]) {
      const blob = proxiedBlobOfUrl(url);
      if (blob) keys.add(blobKey(blob));
    }
    referenced = { generation, defaultUki, keys };
    return keys;
  };
  const imageProxy: ImageProxyDeps = {
    client,
    allowList,
    isReferenced: (blob) => referencedKeys().has(blobKey(blob)),
    ...(blobCache ? { blobCache } : {}),
    log: ociLog,
    onDigestMismatch: () => mismatches.inc(),
    maxBlobBytes: options["max-blob-bytes"],
    stallTimeoutMs: options["upstream-stall-timeout"] * 1000,
  };

  let refreshTimer: ReturnType<typeof setInterval> | undefined;
  const image = options["default-httpboot-oci-image"];
  if (image) {
    // Resolved once and refreshed, never per request: /httpboot must not wait for a registry.
    const refresh = async (): Promise<void> => {
      try {
        const reference = parseImageReference(image);
        if (!allowList.isAllowed(reference.registry)) throw new Error(`registry ${reference.registry} is not on --allowed-registries`);
        const resolved = await client.resolveBootImage(reference, { architecture: options.architecture });
        if (!resolved.uki) throw new Error(`image ${image} has no UKI layer (application/vnd.ironcore.image.uki)`);
        const url = httpBootUkiUrl("", resolved.imageName, resolved.uki.digest);
        if (url !== defaultUki) log.info("default httpboot UKI resolved", { image, url, digest: resolved.uki.digest });
        defaultUki = url;
      } catch (error) {
        log.error("cannot resolve --default-httpboot-oci-image; keeping the previous answer", {
          image,
          error: (error as Error).message,
          previous: defaultUki ?? "(none)",
        });
      }
    };
    await refresh();
    refreshTimer = setInterval(() => void refresh(), 5 * 60_000);
    refreshTimer.unref?.();
  }
  return {
    client,
    allowList,
    architecture: options.architecture,
    imageProxy,
    defaultUkiFromImage: () => defaultUki,
    close: async () => {
      clearInterval(refreshTimer);
      await blobCache?.close();
    },
  };
}
