// Image references as the Distribution reference grammar defines them: [registry/]repository[:tag][@digest].
// Docker Hub short names are expanded the way `docker pull` does ("ubuntu" → docker.io/library/ubuntu).
import { OciError } from "./errors.ts";

/** Canonical name of Docker Hub; its aliases below all mean the same registry. */
const DOCKER_HUB = "docker.io";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);
/** The host that actually serves Docker Hub's /v2/ API. */
const DOCKER_HUB_API_HOST = "registry-1.docker.io";

export interface RepositoryName {
  /** Canonical registry host[:port], lower case; Docker Hub is always "docker.io". */
  registry: string;
  /** Path inside the registry, e.g. "gardenlinux/gardenlinux" or "library/ubuntu". */
  repository: string;
}

export interface ImageReference extends RepositoryName {
  tag?: string;
  /** When present it wins over the tag: the content is pinned. */
  digest?: string;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = "(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])";
const HOST_AND_PORT = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const MAX_NAME_LENGTH = 255;

type DigestAlgorithm = "sha256" | "sha512";

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

export function isTag(value: string): boolean {
  return TAG.test(value);
}

export function digestAlgorithm(digest: string): DigestAlgorithm {
  return digest.startsWith("sha512:") ? "sha512" : "sha256";
}

export function digestHex(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1);
}

/** Lower-cases a registry host and folds every Docker Hub alias into "docker.io". */
export function canonicalRegistry(host: string): string {
  const lower = host.trim().toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

export function isValidRegistryHost(host: string): boolean {
  return HOST_AND_PORT.test(host);
}

/** The host:port to send /v2/ requests to (Docker Hub's API lives on a different host than its name). */
export function registryApiHost(registry: string): string {
  return canonicalRegistry(registry) === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

function looksLikeRegistry(firstComponent: string): boolean {
  return firstComponent.includes(".") || firstComponent.includes(":") || firstComponent === "localhost" || firstComponent !== firstComponent.toLowerCase();
}

function invalid(input: string, why: string): OciError {
  return new OciError("INVALID_REFERENCE", `invalid image reference ${JSON.stringify(input)}: ${why}`);
}

/** Parses a name without tag or digest ("ghcr.io/org/image", "127.0.0.1:5000/a/b", "ubuntu"). */
export function parseRepositoryName(input: string): RepositoryName {
  const name = input.trim();
  if (name === "") throw invalid(input, "empty name");
  if (name.length > MAX_NAME_LENGTH) throw invalid(input, `longer than ${MAX_NAME_LENGTH} characters`);
  const slash = name.indexOf("/");
  let registry = DOCKER_HUB;
  let path = name;
  if (slash > 0 && looksLikeRegistry(name.slice(0, slash))) {
    const host = name.slice(0, slash);
    if (!HOST_AND_PORT.test(host)) throw invalid(input, `bad registry host ${JSON.stringify(host)}`);
    registry = canonicalRegistry(host);
    path = name.slice(slash + 1);
  }
  const components = path.split("/");
  for (const component of components) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(input, `bad path component ${JSON.stringify(component)} (lower-case letters, digits and single . _ __ - separators)`);
    }
  }
  if (registry === DOCKER_HUB && components.length === 1) path = `library/${path}`;
  return { registry, repository: path };
}

/**
 * Parses "name", "name:tag", "name@sha256:…" and "name:tag@sha256:…". A reference without tag or digest gets
 * `defaultTag` ("latest", like docker), unless that is undefined.
 */
export function parseImageReference(input: string, options: { defaultTag?: string | undefined } = { defaultTag: "latest" }): ImageReference {
  const text = input.trim();
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw invalid(input, `bad digest ${JSON.stringify(digest)} (want sha256:<64 hex> or sha512:<128 hex>)`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) throw invalid(input, `bad tag ${JSON.stringify(tag)}`);
  }
  const name = parseRepositoryName(rest);
  const reference: ImageReference = { ...name };
  if (tag !== undefined) reference.tag = tag;
  else if (digest === undefined && options.defaultTag !== undefined) reference.tag = options.defaultTag;
  if (digest !== undefined) reference.digest = digest;
  return reference;
}

/** "registry/repository", the form the image proxy's imageName parameter and /httpboot paths use. */
export function formatRepositoryName(name: RepositoryName): string {
  return `${name.registry}/${name.repository}`;
}

/** The most precise form: digest when pinned, else tag. */
export function formatImageReference(reference: ImageReference): string {
  const base = formatRepositoryName(reference);
  if (reference.digest) return `${base}${reference.tag ? `:${reference.tag}` : ""}@${reference.digest}`;
  return reference.tag ? `${base}:${reference.tag}` : base;
}

/** What to put after /manifests/: the digest if pinned, else the tag. */
export function manifestReference(reference: ImageReference): string {
  const value = reference.digest ?? reference.tag;
  if (value === undefined) throw invalid(formatImageReference(reference), "neither tag nor digest");
  return value;
}
