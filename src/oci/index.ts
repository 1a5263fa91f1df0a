// OCI registry access for boot images: reference parsing, the allow-list, the Distribution client, boot-layer
// resolution, proxy URL building and the on-disk blob cache. Nothing here knows about Kubernetes.

import type { BootImage, OciClient } from "./client.ts";
import type { Architecture } from "./manifest.ts";
import type { ImageReference } from "./reference.ts";

export { AllowListError, DEFAULT_ALLOWED_REGISTRIES, parseRegistryAllowList, type RegistryAllowList } from "./allowlist.ts";
export {
  type AuthChallenge,
  basicAuthorization,
  CredentialsError,
  parseDockerConfigJson,
  parseWwwAuthenticate,
  type RegistryCredential,
  type RegistryCredentials,
} from "./auth.ts";
export { BlobCache, type BlobCacheOptions, type BlobCacheUsage } from "./blob-cache.ts";
export {
  type BootImage,
  type FetchedManifest,
  OciClient,
  type OciClientOptions,
  type OciLog,
  type OciLogLevel,
  type RedirectOptions,
  type UpstreamRequestEvent,
} from "./client.ts";
export { computeDigest, type DigestMismatch, verifyingStream } from "./digest.ts";
export { isOciError, OciError, type OciErrorCode } from "./errors.ts";
export { type Architecture, type BootLayer, type BootLayers, findBootLayers, parseManifest, rankIndexEntries } from "./manifest.ts";
export * from "./media-types.ts";
export {
  checkResolvedAddresses,
  DEFAULT_ALLOWED_REDIRECT_HOSTS,
  judgeRedirect,
  parseRedirectHostList,
  type RedirectHostList,
  RedirectHostListError,
} from "./redirects.ts";
export {
  canonicalRegistry,
  DOCKER_HUB,
  formatImageReference,
  formatRepositoryName,
  type ImageReference,
  parseImageReference,
  parseRepositoryName,
  type RepositoryName,
} from "./reference.ts";
export { type BootImageUrls, blobKey, bootImageUrls, httpBootUkiUrl, imageLayerUrl, parseHttpBootPath, parseImageQuery, proxiedBlobOfUrl } from "./urls.ts";

/** Resolves the boot layers of `ref` for one architecture; see OciClient.resolveBootImage. */
export function resolveBootImage(
  client: OciClient,
  ref: string | ImageReference,
  options: { architecture: Architecture; signal?: AbortSignal },
): Promise<BootImage> {
  return client.resolveBootImage(ref, options);
}
