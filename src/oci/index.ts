// OCI registry access for boot images: reference parsing, the allow-list, the Distribution client, boot-layer
// resolution, proxy URL building and the on-disk blob cache. Nothing here knows about Kubernetes. Layers above import
// through this file; it re-exports what they use (test/unit imports the modules themselves).

export { parseRegistryAllowList, type RegistryAllowList } from "./allowlist.ts";
export { parseDockerConfigJson } from "./auth.ts";
export { BlobCache } from "./blob-cache.ts";
export { type BootImage, OciClient } from "./client.ts";
export type { Architecture } from "./manifest.ts";
export { parseRedirectHostList } from "./redirects.ts";
export { type ImageReference, parseImageReference } from "./reference.ts";
export { blobKey, bootImageUrls, httpBootUkiUrl, proxiedBlobOfUrl } from "./urls.ts";
