// Turns decoded files into one resource snapshot while never losing the last good state: a file that stops
// parsing keeps serving what it served before, an invalid document keeps its previous valid version, and a file
// whose new version is held back as incomplete (completeness.ts) keeps serving its last complete version.
// It also remembers in which order configs first appeared: a config's age in directory mode (ResourceSnapshot.firstSeen:
// earlier loads first, within one load path order, then document order; not metadata.creationTimestamp, which a
// file can claim freely; nothing is persisted, so after a restart file order decides). A change to a few files is
// patched in (update) rather than rebuilt, and the snapshot carries a delta so the index need not compare either.
import { type BootResource, type HTTPBootConfig, type IPXEBootConfig, objectKey, type Secret, type SwitchBootConfig } from "../../api/index.ts";
import { nextSnapshotSerial, type SnapshotDelta } from "../../index/boot-index.ts";
import type { SnapshotUpdate, SourceProblem } from "../../index/snapshot.ts";
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

type Chosen = { resource: BootResource; origin: string };

export class ResourceSet {
  private lastGoodById = new Map<string, Chosen>();
  private lastGoodByFile = new Map<string, BootResource[]>();
  private problemsByFile = new Map<string, SourceProblem[]>();
  /** Duplicate definitions and held-back files in the last result: while there are any, every update is a rebuild. */
  private irregular = true;
  /**
   * Copied on write: the last snapshot carries this very map (and the next ones, until it changes), so a change
   * first copies it and earlier snapshots keep theirs. At idle there is one map of 20 000 entries, not two.
   */
  private firstSeen = new Map<string, number>();
  private firstSeenShared = false;
  private nextRank = 0;
  private lastSerial: number | undefined;
  /** The served objects per kind in no particular order, with each id's position: the snapshot's arrays. */
  private lists: Record<BootResource["kind"], ListedObjects> = {
    IPXEBootConfig: emptyList(),
    HTTPBootConfig: emptyList(),
    SwitchBootConfig: emptyList(),
    Secret: emptyList(),
  };

  /** Ids of the resources served from `path` right now. */
  servedIds(path: string): Set<string> {
    return new Set((this.lastGoodByFile.get(path) ?? []).map(idOf));
  }

  /**
   * `files` in any order; they are processed sorted by path so duplicates resolve the same way every time.
   * `held` maps paths whose new version is not taken yet to the reason; they keep serving what they served.
   */
  rebuild(files: ReadonlyMap<string, DecodedFile>, held: ReadonlyMap<string, string> = new Map()): SnapshotUpdate {
    const previousById = this.lastGoodById;
    const previousByFile = this.lastGoodByFile;
    this.lastGoodById = new Map();
    this.lastGoodByFile = new Map();
    this.problemsByFile = new Map();
    this.irregular = held.size > 0;
    // Sorted as Array#sort sorts strings: by UTF-16 code units.
    for (const path of [...files.keys()].sort(comparePaths)) {
      const decoded = files.get(path);
      if (decoded) this.takeFile(path, decoded, held.get(path), previousById, previousByFile.get(path) ?? []);
    }
    // The ids are lastGoodById's keys: one string per resource, shared by the lists and firstSeen.
    for (const [id, { resource }] of this.lastGoodById) {
      if (resource.kind !== "Secret" && !this.firstSeen.has(id)) this.writableFirstSeen().set(id, this.nextRank++);
    }
    for (const id of this.firstSeen.keys()) if (!this.lastGoodById.has(id)) this.writableFirstSeen().delete(id);
    this.lists = {
      IPXEBootConfig: emptyList(),
      HTTPBootConfig: emptyList(),
      SwitchBootConfig: emptyList(),
      Secret: emptyList(),
    };
    for (const [id, { resource }] of this.lastGoodById) this.setListed(id, resource);
    return this.result(undefined);
  }

  /**
   * The same result as `rebuild(files, held)` when only the files in `changed` differ from the last call (a path
   * in `changed` missing from `files` was removed), computed from those files alone. Falls back to a rebuild where
   * other files are involved: duplicates, held-back versions, an id a changed file shares with an unchanged one.
   */
  update(files: ReadonlyMap<string, DecodedFile>, changed: ReadonlySet<string>, held: ReadonlyMap<string, string>): SnapshotUpdate {
    if (this.irregular || held.size > 0) return this.rebuild(files, held);
    for (const path of changed) {
      const decoded = files.get(path);
      for (const id of decoded ? idsDefinedBy(decoded) : []) {
        const owner = this.lastGoodById.get(id)?.origin;
        if (owner !== undefined && !changed.has(owner)) return this.rebuild(files, held);
      }
    }
    const before = new Map<string, Chosen>();
    for (const path of changed) {
      for (const resource of this.lastGoodByFile.get(path) ?? []) {
        const id = idOf(resource);
        const entry = this.lastGoodById.get(id);
        if (entry) before.set(id, entry);
        this.lastGoodById.delete(id);
      }
    }
    const paths = [...changed].sort(comparePaths);
    for (const path of paths) {
      const previousGood = this.lastGoodByFile.get(path) ?? [];
      this.lastGoodByFile.delete(path);
      this.problemsByFile.delete(path);
      const decoded = files.get(path);
      if (decoded) this.takeFile(path, decoded, undefined, before, previousGood);
    }
    const delta: MutableDelta = { ipxeBootConfigs: new Map(), httpBootConfigs: new Map(), secrets: new Map() };
    const touched = new Set(before.keys());
    for (const path of paths) for (const resource of this.lastGoodByFile.get(path) ?? []) touched.add(idOf(resource));
    for (const id of touched) {
      const slash = id.indexOf("/");
      const kind = id.slice(0, slash);
      const key = id.slice(slash + 1);
      const now = this.lastGoodById.get(id)?.resource;
      if (kind === "IPXEBootConfig") delta.ipxeBootConfigs.set(key, now?.kind === "IPXEBootConfig" ? now.object : undefined);
      else if (kind === "HTTPBootConfig") delta.httpBootConfigs.set(key, now?.kind === "HTTPBootConfig" ? now.object : undefined);
      else if (kind === "Secret") delta.secrets.set(key, now?.kind === "Secret" ? now.object : undefined);
      // SwitchBootConfigs are not in the delta: the index rebuilds the switch tables from the snapshot every time.
      if (kind === "Secret") continue;
      if (!now) {
        if (this.firstSeen.has(id)) this.writableFirstSeen().delete(id);
      } else if (!this.firstSeen.has(id)) this.writableFirstSeen().set(id, this.nextRank++);
    }
    // Copies of the lists (cheap: no hashing), patched for the touched ids; earlier snapshots keep theirs.
    this.lists = {
      IPXEBootConfig: copyList(this.lists.IPXEBootConfig),
      HTTPBootConfig: copyList(this.lists.HTTPBootConfig),
      SwitchBootConfig: copyList(this.lists.SwitchBootConfig),
      Secret: copyList(this.lists.Secret),
    };
    for (const id of touched) {
      const now = this.lastGoodById.get(id)?.resource;
      if (now) this.setListed(id, now);
      else this.unlist(id);
    }
    return this.result(this.lastSerial === undefined ? undefined : { since: this.lastSerial, ...delta });
  }

  /** Puts the resource in its kind's list, replacing the id's previous entry in place. */
  private setListed(id: string, resource: BootResource): void {
    const list = this.lists[resource.kind];
    const at = list.positions.get(id);
    if (at !== undefined && list.ids[at] === id) {
      list.objects[at] = resource.object;
      return;
    }
    list.positions.set(id, list.objects.length);
    list.ids.push(id);
    list.objects.push(resource.object);
  }

  /** Removes the id's entry: the last entry moves into its place (list order carries no meaning). */
  private unlist(id: string): void {
    const kind = id.slice(0, id.indexOf("/"));
    const list = kind === "IPXEBootConfig" || kind === "HTTPBootConfig" || kind === "SwitchBootConfig" || kind === "Secret" ? this.lists[kind] : undefined;
    const at = list?.positions.get(id);
    if (!list || at === undefined) return;
    list.positions.delete(id);
    const lastId = list.ids.pop();
    const lastObject = list.objects.pop();
    if (at === list.objects.length || lastId === undefined || lastObject === undefined) return;
    list.ids[at] = lastId;
    list.objects[at] = lastObject;
    list.positions.set(lastId, at);
  }

  private shareFirstSeen(): ReadonlyMap<string, number> {
    this.firstSeenShared = true;
    return this.firstSeen;
  }

  /** firstSeen to change: a copy first when the last snapshot holds it. */
  private writableFirstSeen(): Map<string, number> {
    if (this.firstSeenShared) {
      this.firstSeen = new Map(this.firstSeen);
      this.firstSeenShared = false;
    }
    return this.firstSeen;
  }

  private result(delta: SnapshotDelta | undefined): SnapshotUpdate {
    const problems: SourceProblem[] = [];
    for (const path of [...this.problemsByFile.keys()].sort(comparePaths)) problems.push(...(this.problemsByFile.get(path) ?? []));
    const serial = nextSnapshotSerial();
    this.lastSerial = serial;
    const snapshot = {
      ipxeBootConfigs: this.lists.IPXEBootConfig.objects as IPXEBootConfig[],
      httpBootConfigs: this.lists.HTTPBootConfig.objects as HTTPBootConfig[],
      switchBootConfigs: this.lists.SwitchBootConfig.objects as SwitchBootConfig[],
      secrets: this.lists.Secret.objects as Secret[],
      // An edit leaves it as it was: no copy of 20 000 entries per change then.
      firstSeen: this.shareFirstSeen(),
      serial,
      ...(delta ? { delta } : {}),
    };
    return { snapshot, problems };
  }

  /** Adds one file's resources (in document order) and problems; `previousById` answers for its invalid documents. */
  private takeFile(
    path: string,
    decoded: DecodedFile,
    heldReason: string | undefined,
    previousById: ReadonlyMap<string, Chosen>,
    previousGood: BootResource[],
  ): void {
    const problems: SourceProblem[] = [];
    const add = (resource: BootResource, document?: number): boolean => {
      const id = idOf(resource);
      const existing = this.lastGoodById.get(id);
      if (existing) {
        this.irregular = true;
        problems.push({
          severity: "error",
          origin: path,
          ...(document === undefined ? {} : { document }),
          kind: resource.kind,
          name: objectKey(resource.object.metadata),
          path: "metadata.name",
          message: `defined again; the definition in ${existing.origin} is used`,
        });
        return false;
      }
      this.lastGoodById.set(id, { resource, origin: path });
      return true;
    };
    const keep = (kept: BootResource[]): void => {
      for (const resource of kept) add(resource);
      this.lastGoodByFile.set(path, kept);
    };
    if (heldReason !== undefined) {
      keep(previousGood);
      problems.push({
        severity: "warning",
        origin: path,
        path: "",
        message: `changed but ${heldReason}; still serving its ${previousGood.length} resource(s) from the last complete version`,
      });
    } else if (!decoded.ok) {
      problems.push(decoded.problem);
      keep(previousGood);
      if (previousGood.length > 0) {
        problems.push({
          severity: "warning",
          origin: path,
          path: "",
          message: `still serving its ${previousGood.length} resource(s) from the last version that parsed`,
        });
      }
    } else {
      const good: BootResource[] = [];
      for (const document of decoded.documents) {
        if (document.ok) {
          if (add(document.resource, document.index)) good.push(document.resource);
          continue;
        }
        problems.push(...document.problems);
        const { kind, namespace, name } = document.identity;
        if (document.ignored || !kind || !name) continue;
        const previous = previousById.get(resourceId(kind, namespace, name))?.resource;
        if (previous && add(previous, document.index)) {
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
      this.lastGoodByFile.set(path, good);
    }
    if (problems.length > 0) this.problemsByFile.set(path, problems);
  }
}

interface MutableDelta {
  ipxeBootConfigs: Map<string, IPXEBootConfig | undefined>;
  httpBootConfigs: Map<string, HTTPBootConfig | undefined>;
  secrets: Map<string, Secret | undefined>;
}

interface ListedObjects {
  objects: BootResource["object"][];
  ids: string[];
  /** id → index in objects/ids; shared by the copies (positions only move within the newest copy). */
  positions: Map<string, number>;
}

function emptyList(): ListedObjects {
  return { objects: [], ids: [], positions: new Map() };
}

function copyList(list: ListedObjects): ListedObjects {
  return { objects: list.objects.slice(), ids: list.ids.slice(), positions: list.positions };
}

function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
