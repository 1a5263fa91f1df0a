// Turns decoded files into one resource snapshot while never losing the last good state: a file that stops
// parsing keeps serving what it served before, an invalid document keeps its previous valid version, and a file
// whose new version is held back as incomplete (completeness.ts) keeps serving its last complete version.
// It also remembers in which order configs first appeared: a config's age in directory mode (see firstSeenRanks).
import { type BootResource, objectKey } from "../../api/index.ts";
import { configId } from "../../index/boot-index.ts";
import { type SnapshotUpdate, type SourceProblem, snapshotOf } from "../../index/snapshot.ts";
import type { DecodedFile } from "./documents.ts";

function resourceId(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${objectKey({ name, namespace })}`;
}

function idOf(resource: BootResource): string {
  return resourceId(resource.kind, resource.object.metadata.namespace, resource.object.metadata.name);
}

/** Ids a decoded file defines, valid or not (an invalid document with kind and name still names its resource). */
export function idsDefinedBy(decoded: DecodedFile): Set<string> {
  const ids = new Set<string>();
  if (!decoded.ok) return ids;
  for (const document of decoded.documents) {
    if (document.ok) ids.add(idOf(document.resource));
    else if (document.identity.kind && document.identity.name) ids.add(resourceId(document.identity.kind, document.identity.namespace, document.identity.name));
  }
  return ids;
}

export class ResourceSet {
  private lastGoodById = new Map<string, BootResource>();
  private lastGoodByFile = new Map<string, BootResource[]>();
  private readonly firstSeen = new Map<string, number>();
  private nextRank = 0;

  /** Ids of the resources served from `path` right now. */
  servedIds(path: string): Set<string> {
    return new Set((this.lastGoodByFile.get(path) ?? []).map(idOf));
  }

  /**
   * `files` in any order; they are processed sorted by path so duplicates resolve the same way every time.
   * `held` maps paths whose new version is not taken yet to the reason; they keep serving what they served.
   */
  rebuild(files: ReadonlyMap<string, DecodedFile>, held: ReadonlyMap<string, string> = new Map()): SnapshotUpdate {
    const problems: SourceProblem[] = [];
    const chosen = new Map<string, { resource: BootResource; origin: string }>();
    const nextGoodByFile = new Map<string, BootResource[]>();
    const add = (resource: BootResource, origin: string, document?: number): boolean => {
      const id = idOf(resource);
      const existing = chosen.get(id);
      if (existing) {
        problems.push({
          severity: "error",
          origin,
          ...(document === undefined ? {} : { document }),
          kind: resource.kind,
          name: objectKey(resource.object.metadata),
          path: "metadata.name",
          message: `defined again; the definition in ${existing.origin} is used`,
        });
        return false;
      }
      chosen.set(id, { resource, origin });
      return true;
    };

    // Sorted as Array#sort sorts strings: by UTF-16 code units.
    for (const [path, decoded] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const heldReason = held.get(path);
      if (heldReason !== undefined) {
        const kept = this.lastGoodByFile.get(path) ?? [];
        for (const resource of kept) add(resource, path);
        problems.push({
          severity: "warning",
          origin: path,
          path: "",
          message: `changed but ${heldReason}; still serving its ${kept.length} resource(s) from the last complete version`,
        });
        nextGoodByFile.set(path, kept);
        continue;
      }
      if (!decoded.ok) {
        problems.push(decoded.problem);
        const kept = this.lastGoodByFile.get(path) ?? [];
        for (const resource of kept) add(resource, path);
        if (kept.length > 0) {
          problems.push({
            severity: "warning",
            origin: path,
            path: "",
            message: `still serving its ${kept.length} resource(s) from the last version that parsed`,
          });
        }
        nextGoodByFile.set(path, kept);
        continue;
      }
      const good: BootResource[] = [];
      for (const document of decoded.documents) {
        if (document.ok) {
          if (add(document.resource, path, document.index)) good.push(document.resource);
          continue;
        }
        problems.push(...document.problems);
        const { kind, namespace, name } = document.identity;
        if (document.ignored || !kind || !name) continue;
        const previous = this.lastGoodById.get(resourceId(kind, namespace, name));
        if (previous && add(previous, path, document.index)) {
          good.push(previous);
          problems.push({
            severity: "warning",
            origin: path,
            document: document.index,
            kind,
            name: objectKey({ name, namespace }),
            path: "",
            message: "invalid; still serving its last valid version",
          });
        }
      }
      nextGoodByFile.set(path, good);
    }

    this.lastGoodByFile = nextGoodByFile;
    this.lastGoodById = new Map([...chosen].map(([id, entry]) => [id, entry.resource]));
    const resources = [...chosen.values()].map((entry) => entry.resource);
    return { snapshot: { ...snapshotOf(resources), firstSeen: this.firstSeenRanks(resources) }, problems };
  }

  /**
   * Age of each config as this process saw it: earlier loads first, and within one load path order, then document
   * order (`resources` comes in that order). Not metadata.creationTimestamp: a file can claim any time, and
   * precedence between configs claiming one machine must not be the author's to choose. A config that disappears
   * forgets its rank; nothing is persisted, so after a restart file order decides.
   */
  private firstSeenRanks(resources: readonly BootResource[]): ReadonlyMap<string, number> {
    const live = new Set<string>();
    for (const resource of resources) {
      if (resource.kind === "Secret") continue;
      const id = configId(resource.kind, objectKey(resource.object.metadata));
      live.add(id);
      if (!this.firstSeen.has(id)) this.firstSeen.set(id, this.nextRank++);
    }
    for (const id of this.firstSeen.keys()) if (!live.has(id)) this.firstSeen.delete(id);
    return new Map(this.firstSeen);
  }
}
