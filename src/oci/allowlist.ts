// Which registries the image proxy may fetch from: a comma-separated list of host[:port]. Docker Hub's aliases
// are one registry, so allowing any of them allows all three.
import { canonicalRegistry, isValidRegistryHost } from "./reference.ts";

const DEFAULT_ALLOWED_REGISTRIES = "ghcr.io";

export interface RegistryAllowList {
  /** Canonical entries, in the order given, without duplicates. */
  readonly entries: readonly string[];
  isAllowed(registry: string): boolean;
}

export class AllowListError extends Error {
  override readonly name = "AllowListError";
}

/**
 * Parses the CSV. Unset or blank means the default (ghcr.io). Entries may carry a scheme or a trailing slash,
 * which are dropped; anything that is not a host[:port] after that is an error, so a typo fails at start-up
 * instead of silently blocking every image.
 */
export function parseRegistryAllowList(csv: string | undefined): RegistryAllowList {
  const source = csv === undefined || csv.trim() === "" ? DEFAULT_ALLOWED_REGISTRIES : csv;
  const entries: string[] = [];
  for (const raw of source.split(",")) {
    const trimmed = raw.trim();
    if (trimmed === "") continue;
    const host = trimmed.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/+$/, "");
    if (!isValidRegistryHost(host)) {
      throw new AllowListError(`registry allow-list entry ${JSON.stringify(trimmed)} is not a host[:port]`);
    }
    const canonical = canonicalRegistry(host);
    if (!entries.includes(canonical)) entries.push(canonical);
  }
  const allowed = new Set(entries);
  return {
    entries,
    isAllowed: (registry) => allowed.has(canonicalRegistry(registry)),
  };
}
