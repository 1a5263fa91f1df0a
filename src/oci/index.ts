// OCI registry access for boot images: reference parsing, the allow-list, the Distribution client, boot-layer
// resolution, proxy URL building and the on-disk blob cache. Nothing here knows about Kubernetes.
import type { Architecture } from "./manifest.ts";
import type { BootImage, OciClient } from "./client.ts";
import type { ImageReference } from "./reference.ts";

export { AllowListError, DEFAULT_ALLOWED_REGISTRIES, parseRegistryAllowList, type RegistryAllowList } from "./allowlist.ts";
export {
  basicAuthorization,
  CredentialsError,
  parseDockerConfigJson,
  parseWwwAuthenticate,
  type AuthChallenge,
  type RegistryCredential,
  type RegistryCredentials,
} from "./auth.ts";
export { BlobCache, type BlobCacheOptions, type BlobCacheUsage } from "./blob-cache.ts";
export { OciClient, type BootImage, type FetchedManifest, type OciClientOptions, type OciLog, type OciLogLevel, type UpstreamRequestEvent } from "./client.ts";
export { computeDigest, verifyingStream, type DigestMismatch } from "./digest.ts";
export { OciError, isOciError, type OciErrorCode } from "./errors.ts";
export { findBootLayers, parseManifest, rankIndexEntries, type Architecture, type BootLayer, type BootLayers } from "./manifest.ts";
export * from "./media-types.ts";
export {
  DOCKER_HUB,
  canonicalRegistry,
  formatImageReference,
  formatRepositoryName,
  parseImageReference,
  parseRepositoryName,
  type ImageReference,
  type RepositoryName,
} from "./reference.ts";
export { bootImageUrls, httpBootUkiUrl, imageLayerUrl, parseHttpBootPath, parseImageQuery, type BootImageUrls } from "./urls.ts";

/** Resolves the boot layers of `ref` for one architecture; see OciClient.resolveBootImage. */
export function resolveBootImage(
  client: OciClient,
  ref: string | ImageReference,
  options: { architecture: Architecture; signal?: AbortSignal },
): Promise<BootImage> {
  return client.resolveBootImage(ref, options);
}
