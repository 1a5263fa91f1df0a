// One error type for everything the OCI client can fail at, with a code the HTTP layer maps to a status.

type OciErrorCode =
  /** The image reference, repository name, tag or digest is malformed. */
  | "INVALID_REFERENCE"
  /** The registry answered 404 for a manifest or blob. */
  | "NOT_FOUND"
  /** The registry refused our (anonymous or configured) credentials. */
  | "UNAUTHORIZED"
  /** Any other unexpected registry answer (5xx, 429, junk). */
  | "UPSTREAM"
  /** The registry could not be reached, or did not answer in time. */
  | "NETWORK"
  /** Content did not hash to the digest it was addressed by. */
  | "DIGEST_MISMATCH"
  /** The manifest is not JSON of a kind we understand. */
  | "INVALID_MANIFEST"
  /** An index has no manifest for the requested architecture. */
  | "NO_MATCHING_PLATFORM"
  /** The selected manifest has no UKI, kernel or initrd layer. */
  | "NO_BOOT_LAYERS"
  /** A registry redirected to a host the proxy must not reach (redirects.ts). */
  | "REDIRECT_REFUSED"
  /** A blob exceeded --max-blob-bytes, or the upstream stopped sending for --upstream-stall-timeout. */
  | "BLOB_LIMIT";

export class OciError extends Error {
  override readonly name = "OciError";
  constructor(
    readonly code: OciErrorCode,
    message: string,
    /** HTTP status the registry answered with, when there was one. */
    readonly upstreamStatus?: number,
  ) {
    super(message);
  }
}
