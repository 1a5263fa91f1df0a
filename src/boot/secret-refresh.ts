// The walk both secret-derived caches (Butane translations, parsed iPXE scripts) do when the index changes: patched
// from the index refreshed last when it can be (only the secrets that changed or became referenced are looked at; a
// pass over all of them was ~25% of the serving thread per change at 10 000 machines), a full pass otherwise.
import type { BootIndex, SecretEntry } from "../index/boot-index.ts";

interface SecretRefresh {
  previous: BootIndex | undefined;
  index: BootIndex;
  /** Whether the last refresh did the work this one patches (a cache without its worker skips it). */
  patchable: boolean;
  /** The cache's entries by secret key: those of deleted secrets are forgotten. */
  entries: Map<string, unknown>;
  /** Forgets every entry the index no longer has (the full pass). */
  prune: () => void;
  /** Whether to start work at all (the cache has its worker). */
  active: boolean;
  /** Secrets the cache prepares (the key it reads, referenced by some config). */
  wanted: (entry: SecretEntry) => boolean;
  /** Starts the work for one secret version (a no-op when it is known). */
  lookup: (entry: SecretEntry) => void;
}

export function refreshSecrets(refresh: SecretRefresh): void {
  const { previous, index } = refresh;
  const changed = previous && refresh.patchable ? index.secretsChangedSince(previous) : undefined;
  if (changed) {
    for (const key of changed) if (!index.secrets.has(key)) refresh.entries.delete(key);
  } else refresh.prune();
  if (!refresh.active) return;
  if (changed) {
    for (const key of changed) {
      const entry = index.secrets.get(key);
      if (entry && refresh.wanted(entry)) refresh.lookup(entry);
    }
    return;
  }
  for (const entry of index.secrets.values()) if (refresh.wanted(entry)) refresh.lookup(entry);
}
