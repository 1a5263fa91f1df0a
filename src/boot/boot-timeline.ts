// A boot timeline per config: the milestones of its last boot (chainload, script, kernel, initrd, UKI, Ignition)
// with time and requester, folded from the ServedEvents the boot routes report. Pure and bounded: recording is a
// few Map lookups and an append to an array of at most MAX_MILESTONES, so it can run on the request path; the
// clock is injected so stall detection is testable. The Kubernetes status writer and /debug/machines read it.
//
// Attribution. Script, HTTP-boot answer and Ignition name their config. Boot files (/uki/…, /image?…,
// /httpboot/…) do not, and one kernel is often shared by many configs, so a file is given to:
//  1. the config whose boot the same requester (TCP peer) started last, within ATTRIBUTION_WINDOW_MS, when that
//     config names the file's URL, or names no such URL at all (a custom iPXE script brings its own URLs); else
//  2. the one config naming the URL whose boot is open (started within the window), when exactly one does
//     (UEFI HTTP boot: the DHCP server asks /httpboot, the machine itself fetches the UKI); else
//  3. nobody: the fetch is counted as unattributed rather than guessed.
// URLs are compared by path (plus the normalised query for /image), never by host: machines reach the appliance
// under names the config does not know. A chainload (/ipxe) names no config either: it is held per requester and
// opens the boot that requester's next script starts.
import { canonicalIp } from "../api/canonical.ts";
import type { HTTPBootConfig, IPXEBootConfig } from "../api/index.ts";
import { type BOOT_MILESTONES, MAX_BOOT_MILESTONES } from "../api/meta.ts";
import type { BootIndex } from "../index/boot-index.ts";
import type { ServedEvent } from "./served.ts";

type MilestoneName = (typeof BOOT_MILESTONES)[number];
export type ConfigKind = "IPXEBootConfig" | "HTTPBootConfig";

interface Milestone {
  name: MilestoneName;
  /** Epoch ms. A number, not a Date: 10 000 timelines held 20 000 Dates after one route's storm. */
  at: number;
  /** The TCP peer (for /httpboot: the machine the DHCP server names). */
  requester: string;
  /** What was fetched, for boot files (path on this appliance). */
  path?: string;
}

interface BootRecord {
  /** Epoch ms. */
  startedAt: number;
  /** In the order they happened; at most MAX_MILESTONES (the first, which started the boot, is always kept). */
  milestones: Milestone[];
}

export interface ConfigTimeline {
  kind: ConfigKind;
  key: string;
  boot: BootRecord;
}

export const MAX_MILESTONES = MAX_BOOT_MILESTONES;
/**
 * Configs of one kind with a timeline; the one booted longest ago is forgotten first. Twice a large fleet, so a
 * storm over every machine keeps every timeline (RecencyMap holds between half and all of its cap).
 */
const MAX_CONFIGS_PER_KIND = 50_000;
/** Requesters remembered for attribution and pending chainloads. */
const MAX_REQUESTERS = 50_000;
/** A boot file fetched this long after the boot started is no longer taken to belong to it. */
const ATTRIBUTION_WINDOW_MS = 30 * 60_000;
/** A chainload is taken as the start of the requester's next boot when its script follows within this time. */
const CHAINLOAD_WINDOW_MS = 5 * 60_000;
/** The same start milestone from the same requester, with nothing in between, is a retry (DHCP asks twice). */
const RETRY_WINDOW_MS = 60_000;
const MAX_PATH_CHARS = 256;

const START_MILESTONES: ReadonlySet<MilestoneName> = new Set(["script", "httpboot"]);
const BOOT_FILE_MILESTONES: ReadonlySet<MilestoneName> = new Set(["kernel", "initrd", "squashfs", "uki", "boot-file"]);

interface NamedUrl {
  kind: ConfigKind;
  key: string;
  name: MilestoneName;
}

/**
 * What the timeline needs from the configs: which config names which boot-file URL. Patched when the index changes.
 * Milestone names, not NamedUrl objects, as values: at 10 000 machines sharing four URLs that is 40 000 objects
 * fewer; kind and key are read back from the id when a fetch is attributed.
 */
interface BootUrlIndex {
  /** URL key → "kind|key" → what that config names it. A Map, not a list: a fleet often shares one kernel URL. */
  byUrl: ReadonlyMap<string, ReadonlyMap<string, MilestoneName>>;
  /** Whether the config names at least one boot-file URL (as of the configs this was built from). */
  namesAnyUrl(kind: ConfigKind, key: string): boolean;
}

const NO_NAMED_URLS: ReadonlyMap<string, MilestoneName> = new Map();
/** Configs naming one URL beyond which a fetch of it is not attributed by the URL alone. */
const MAX_URL_ATTRIBUTION_CANDIDATES = 64;

const EMPTY_URL_INDEX: BootUrlIndex = { byUrl: new Map(), namesAnyUrl: () => false };

/**
 * The comparable part of a boot-file URL: path, and for /image the query's three parameters in a fixed order.
 * Host and scheme are dropped (see the header). Null for what cannot be parsed.
 */
export function bootUrlKey(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url, "http://appliance.invalid");
  } catch {
    return null;
  }
  if (parsed.pathname !== "/image") return parsed.pathname;
  const query = parsed.searchParams;
  return `/image?imageName=${query.get("imageName") ?? ""}&version=${query.get("version") ?? ""}&layerDigest=${query.get("layerDigest") ?? ""}`;
}

type UrlIndexSource = Pick<BootIndex, "ipxeBootConfigs" | "httpBootConfigs" | "ipxeByKey" | "httpByKey">;

/**
 * A built index with what patching it needs: the configs it was built from (a changed config's old URLs are read
 * from its old version there, rather than kept per config: 20 000 lists at 10 000 machines), and each URL's key
 * once parsed.
 */
class PatchableUrlIndex implements BootUrlIndex {
  readonly byUrl = new Map<string, Map<string, MilestoneName>>();
  readonly keyOfUrl = new Map<string, string | null>();
  constructor(public builtFrom: UrlIndexSource) {}

  namesAnyUrl(kind: ConfigKind, key: string): boolean {
    const config = configIn(this.builtFrom, kind, key);
    return config !== undefined && configUrls(kind, config).some(([, url]) => this.urlKey(url) !== null);
  }

  urlKey(url: string): string | null {
    let urlKey = this.keyOfUrl.get(url);
    if (urlKey === undefined) {
      urlKey = bootUrlKey(url);
      this.keyOfUrl.set(url, urlKey);
    }
    return urlKey;
  }
}

function configIn(index: UrlIndexSource, kind: ConfigKind, key: string): IPXEBootConfig | HTTPBootConfig | undefined {
  return kind === "IPXEBootConfig" ? index.ipxeByKey.get(key) : kind === "HTTPBootConfig" ? index.httpByKey.get(key) : undefined;
}

/** The boot-file URLs a config names, with the milestone each is. */
function configUrls(kind: ConfigKind, config: IPXEBootConfig | HTTPBootConfig): [MilestoneName, string][] {
  const named: [MilestoneName, string][] = [];
  if (kind === "HTTPBootConfig") {
    const uki = (config as HTTPBootConfig).spec.ukiURL;
    if (uki) named.push(["uki", uki]);
    return named;
  }
  const spec = (config as IPXEBootConfig).spec;
  if (spec.kernelURL) named.push(["kernel", spec.kernelURL]);
  if (spec.initrdURL) named.push(["initrd", spec.initrdURL]);
  if (spec.squashfsURL) named.push(["squashfs", spec.squashfsURL]);
  return named;
}

/** Patching more configs than this builds anew: the patch is per config, the build a pass over all of them. */
const MAX_PATCHED_CONFIGS = 512;

export function bootUrlIndex(index: UrlIndexSource): BootUrlIndex {
  // A fleet shares a few URLs, so each is parsed once per build, and a config is looked up in the URL's map
  // rather than searched for in a list (that search made one build O(configs²): seconds at 10 000 machines
  // naming one kernel, with requests waiting behind it).
  const urls = new PatchableUrlIndex(index);
  // The index's own key strings (objectKey would make a copy per config).
  for (const [key, config] of index.ipxeByKey) addConfigUrls(urls, "IPXEBootConfig", key, config);
  for (const [key, config] of index.httpByKey) addConfigUrls(urls, "HTTPBootConfig", key, config);
  return urls;
}

/**
 * `urls` (built for the index before) made right for `index` where only the configs in `changed` ("kind|key")
 * differ, in place: the timelines hold the only reference. A full build where that cannot be done. Every change
 * rebuilt it whole before: ~40% of the serving thread during a run of changes at 10 000 machines.
 */
export function patchBootUrlIndex(urls: BootUrlIndex, index: UrlIndexSource, changed: ReadonlySet<string>): BootUrlIndex {
  if (!(urls instanceof PatchableUrlIndex) || changed.size > MAX_PATCHED_CONFIGS) return bootUrlIndex(index);
  for (const id of changed) {
    const separator = id.indexOf("|");
    const kind = id.slice(0, separator) as ConfigKind;
    const key = id.slice(separator + 1);
    const before = configIn(urls.builtFrom, kind, key);
    for (const [, url] of before ? configUrls(kind, before) : []) {
      const urlKey = urls.urlKey(url);
      const named = urlKey === null ? undefined : urls.byUrl.get(urlKey);
      named?.delete(id);
      if (urlKey !== null && named?.size === 0) urls.byUrl.delete(urlKey);
    }
    const config = configIn(index, kind, key);
    if (config) addConfigUrls(urls, kind, key, config);
  }
  urls.builtFrom = index;
  return urls;
}

function addConfigUrls(urls: PatchableUrlIndex, kind: ConfigKind, key: string, config: IPXEBootConfig | HTTPBootConfig): void {
  const id = timelineId(kind, key);
  for (const [name, url] of configUrls(kind, config)) {
    const urlKey = urls.urlKey(url);
    if (!urlKey) continue;
    let named = urls.byUrl.get(urlKey);
    if (!named) {
      named = new Map();
      urls.byUrl.set(urlKey, named);
    }
    if (!named.has(id)) named.set(id, name);
  }
}

/** A URL index entry ("kind|key" → milestone) as the NamedUrl attribution returns. */
function namedUrl(id: string, name: MilestoneName): NamedUrl {
  const separator = id.indexOf("|");
  return { kind: id.slice(0, separator) as ConfigKind, key: id.slice(separator + 1), name };
}

/** A file no config names, by its name: what a custom script's fetch most likely is. */
function guessBootFileName(path: string): MilestoneName {
  const file = (path.split("?")[0] ?? "").split("/").pop()?.toLowerCase() ?? "";
  if (file.endsWith(".efi") || file.includes("uki")) return "uki";
  if (file.includes("initrd") || file.includes("initramfs")) return "initrd";
  if (file.includes("vmlinuz") || file.includes("kernel") || file.includes("linux")) return "kernel";
  if (file.includes("squashfs")) return "squashfs";
  return "boot-file";
}

function milestoneOf(event: ServedEvent): MilestoneName | null {
  switch (event.milestone) {
    case "ipxe-chainload":
      return "chainload";
    case "ipxe-script":
      return "script";
    case "httpboot":
      return "httpboot";
    case "ignition":
      return "ignition";
    default:
      return null;
  }
}

/**
 * A map bounded to `cap` entries that forgets the least recently touched first, approximately: two generations,
 * and a touch of a key in the young one is a single set. Insertion-order LRU (a delete and a set per touch) was a
 * tenth of a boot request's CPU in a 10 000-machine storm. Once full it holds between cap/2 and cap entries.
 */
class RecencyMap<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();

  constructor(private readonly cap: number) {}

  get(key: string): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  /** Sets `key` and counts it as just used; setting what a young key already holds writes nothing (see foldMilestone). */
  touch(key: string, value: V): void {
    if (this.young.get(key) === value) return;
    const before = this.young.size;
    this.young.set(key, value);
    if (this.young.size === before) return; // already young: updated in place
    this.old.delete(key);
    if (this.young.size >= this.cap / 2) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  delete(key: string): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  values(): V[] {
    return [...this.old.values(), ...this.young.values()];
  }
}

const timelineId = (kind: ConfigKind, key: string): string => `${kind}|${key}`;

/** The same start again from the same requester, soon, with only starts before it: a retry, not a new boot. */
function isRetry(milestones: readonly Milestone[], milestone: Milestone): boolean {
  const last = milestones[milestones.length - 1];
  if (!last || last.name !== milestone.name || last.requester !== milestone.requester) return false;
  if (milestone.at - last.at >= RETRY_WINDOW_MS) return false;
  for (const entry of milestones) if (entry.name !== "chainload" && !START_MILESTONES.has(entry.name)) return false;
  return true;
}

/** The same step of a boot (its time aside). */
function sameMilestone(a: Milestone | undefined, b: Milestone | undefined): boolean {
  return a !== undefined && b !== undefined && a.name === b.name && a.path === b.path && a.requester === b.requester;
}

/** A milestone as a boot keeps it: an object of its own (a held chainload is not), so a retry can move its time. */
function owned(milestone: Milestone): Milestone {
  return { ...milestone };
}

function newBoot(milestones: [Milestone, ...Milestone[]]): BootRecord {
  return { startedAt: milestones[0].at, milestones };
}

/**
 * Folds one milestone into a boot (mutating it); returns the boot it now belongs to (a new one on a new start).
 * A retry moves the last milestone's time (a number) rather than storing anything new: under a storm every request
 * is a retry, and a new young object stored into an old one on every request is what the young collections then
 * copy and rescan (with the two writes BootTimelines.add no longer makes, a kube /ipxe storm at 10 000 machines
 * went from 22.4 / 22.4 to 21.0 / 20.1 µs a request).
 */
function foldMilestone(boot: BootRecord | undefined, milestone: Milestone, chainload?: Milestone): BootRecord {
  if (START_MILESTONES.has(milestone.name)) {
    if (boot && isRetry(boot.milestones, milestone)) {
      const last = boot.milestones[boot.milestones.length - 1];
      if (last) last.at = milestone.at;
      return boot;
    }
    return newBoot(chainload ? [owned(chainload), owned(milestone)] : [owned(milestone)]);
  }
  if (!boot) return newBoot([owned(milestone)]);
  // A file fetched again (a range request, a retry) moves to the end rather than filling the list.
  const again = boot.milestones.findIndex(
    (entry, position) => position > 0 && entry.name === milestone.name && entry.path === milestone.path && entry.requester === milestone.requester,
  );
  if (again >= 0) boot.milestones.splice(again, 1);
  boot.milestones.push(owned(milestone));
  if (boot.milestones.length > MAX_MILESTONES) boot.milestones.splice(1, 1);
  return boot;
}

export class BootTimelines {
  readonly stats = { recorded: 0, unattributed: 0 };
  /** Per kind, by namespace/name: the index hands out one key string per config, so lookups hash nothing new. */
  private readonly timelines: Record<ConfigKind, RecencyMap<ConfigTimeline>> = {
    IPXEBootConfig: new RecencyMap(MAX_CONFIGS_PER_KIND),
    HTTPBootConfig: new RecencyMap(MAX_CONFIGS_PER_KIND),
  };
  /** The boot each requester started last. */
  private readonly bootByRequester = new RecencyMap<{ kind: ConfigKind; key: string; at: number }>(MAX_REQUESTERS);
  private readonly chainloadByRequester = new RecencyMap<Milestone>(MAX_REQUESTERS);
  private urls: BootUrlIndex = EMPTY_URL_INDEX;
  /** The next index's URLs, built on first use (bootUrlIndex is O(configs): not on the change's serving path). */
  private pendingUrls: (() => BootUrlIndex) | undefined;

  /** Configs ("kind|key") changed since the URL index in use was built; "all" after an index without a delta. */
  private changedSinceUrls: Set<string> | "all" = "all";

  useUrls(urls: BootUrlIndex | (() => BootUrlIndex)): void {
    if (typeof urls === "function") this.pendingUrls = urls;
    else {
      this.urls = urls;
      this.pendingUrls = undefined;
    }
    this.changedSinceUrls = "all";
  }

  /**
   * A new index: its URLs are made on first use (not on the change's serving path), by patching the ones in use
   * for the configs that changed since they were made.
   */
  useIndex(index: UrlIndexSource & Pick<BootIndex, "changedConfigs">): void {
    const changed = index.changedConfigs;
    if (!changed || this.changedSinceUrls === "all") this.changedSinceUrls = "all";
    else {
      for (const key of changed.ipxe) this.changedSinceUrls.add(timelineId("IPXEBootConfig", key));
      for (const key of changed.http) this.changedSinceUrls.add(timelineId("HTTPBootConfig", key));
    }
    this.pendingUrls = () => {
      const since = this.changedSinceUrls;
      this.changedSinceUrls = new Set();
      return since === "all" ? bootUrlIndex(index) : patchBootUrlIndex(this.urls, index, since);
    };
  }

  /** The URL index in use, building a pending one now (serve warms it shortly after a change). */
  urlIndex(): BootUrlIndex {
    if (this.pendingUrls) {
      this.urls = this.pendingUrls();
      this.pendingUrls = undefined;
    }
    return this.urls;
  }

  /**
   * Hot path. Returns the timeline when the event changed its shape: a new boot, a milestone added or moved.
   * Undefined when the event belongs to no config (yet), or only repeated the boot's last milestone (a retry, a
   * range of the file fetched last): that moves the milestone's time here, and nothing a status should be
   * rewritten for. A storm of repeats made every config's lastBoot news, so the status writer rewrote all of them
   * as fast as it could for as long as the storm lasted.
   */
  record(event: ServedEvent): ConfigTimeline | undefined {
    // Switches have their own *Fetched conditions; the boot timeline follows servers.
    if (event.kind === "SwitchBootConfig") return undefined;
    this.stats.recorded++;
    const requester = canonicalIp(event.client) ?? event.client;
    const name = milestoneOf(event);
    if (name === "chainload") {
      this.chainloadByRequester.touch(requester, { name, at: event.at.getTime(), requester });
      return undefined;
    }
    if (name) {
      if (!event.kind || !event.configKey) return undefined;
      const milestone: Milestone = { name, at: event.at.getTime(), requester };
      let chainload: Milestone | undefined;
      // A storm of script re-fetches has no chainload pending: skip the lookup then.
      if (name === "script" && this.chainloadByRequester.size > 0) {
        const held = this.chainloadByRequester.get(requester);
        if (held && milestone.at - held.at <= CHAINLOAD_WINDOW_MS && held.at <= milestone.at) chainload = held;
        this.chainloadByRequester.delete(requester);
      }
      if (START_MILESTONES.has(name)) {
        const started = this.bootByRequester.get(requester);
        if (started) {
          // Reused: a machine booting again (or a storm) allocates nothing here.
          started.kind = event.kind;
          started.key = event.configKey;
          started.at = milestone.at;
          this.bootByRequester.touch(requester, started);
        } else this.bootByRequester.touch(requester, { kind: event.kind, key: event.configKey, at: milestone.at });
      }
      return this.add(event.kind, event.configKey, milestone, chainload);
    }
    const path = event.path.length > MAX_PATH_CHARS ? event.path.slice(0, MAX_PATH_CHARS) : event.path;
    const at = event.at.getTime();
    const target = this.attribute(requester, event.path, at);
    if (!target) {
      this.stats.unattributed++;
      return undefined;
    }
    return this.add(target.kind, target.key, { name: target.name, at, requester, path }, undefined);
  }

  get(kind: ConfigKind, key: string): ConfigTimeline | undefined {
    return this.timelines[kind].get(key);
  }

  /** Every timeline, the most recently booted first; bounded by `limit`. */
  list(limit: number): ConfigTimeline[] {
    const all = [...this.timelines.IPXEBootConfig.values(), ...this.timelines.HTTPBootConfig.values()];
    all.sort((a, b) => (b.boot.milestones.at(-1)?.at ?? 0) - (a.boot.milestones.at(-1)?.at ?? 0));
    return all.slice(0, limit);
  }

  get size(): number {
    return this.timelines.IPXEBootConfig.size + this.timelines.HTTPBootConfig.size;
  }

  private add(kind: ConfigKind, key: string, milestone: Milestone, chainload: Milestone | undefined): ConfigTimeline | undefined {
    const timelines = this.timelines[kind];
    const existing = timelines.get(key);
    const before = existing?.boot;
    const countBefore = before?.milestones.length;
    const lastBefore = before?.milestones[before.milestones.length - 1];
    const boot = foldMilestone(before, milestone, chainload);
    const timeline = existing ?? { kind, key, boot };
    if (timeline.boot !== boot) timeline.boot = boot;
    timelines.touch(key, timeline);
    const last = boot.milestones[boot.milestones.length - 1];
    const repeat = boot === before && boot.milestones.length === countBefore && sameMilestone(last, lastBefore);
    return repeat ? undefined : timeline;
  }

  private attribute(requester: string, path: string, at: number): NamedUrl | undefined {
    const urlKey = path.startsWith("/image") ? bootUrlKey(path) : path;
    const urls = this.urlIndex();
    const named = (urlKey ? urls.byUrl.get(urlKey) : undefined) ?? NO_NAMED_URLS;
    const open = (kind: ConfigKind, key: string): boolean => {
      const started = this.timelines[kind].get(key)?.boot.startedAt;
      return started !== undefined && at - started <= ATTRIBUTION_WINDOW_MS && at >= started;
    };
    const active = this.bootByRequester.get(requester);
    if (active && at - active.at <= ATTRIBUTION_WINDOW_MS) {
      const activeId = timelineId(active.kind, active.key);
      const byUrl = named.get(activeId);
      if (byUrl) return { kind: active.kind, key: active.key, name: byUrl };
      if (named.size === 0 || !urls.namesAnyUrl(active.kind, active.key)) {
        return { kind: active.kind, key: active.key, name: guessBootFileName(path) };
      }
    }
    // By URL alone only when few configs name it: a URL the whole fleet shares says nothing about who asked, and
    // scanning it per kernel fetch would cost O(fleet) on the request path.
    if (named.size > MAX_URL_ATTRIBUTION_CANDIDATES) return undefined;
    let found: NamedUrl | undefined;
    for (const [id, name] of named) {
      const entry = namedUrl(id, name);
      if (!open(entry.kind, entry.key)) continue;
      if (found) return undefined; // two open boots name it: ambiguous
      found = entry;
    }
    return found;
  }
}

type BootState = "Booting" | "Completed" | "Stalled";

export interface BootProgress {
  state: BootState;
  lastMilestone: Milestone;
  /** For Booting: when it would count as stalled. */
  stallsAt?: number;
}

/**
 * Where a boot stands at `now`. Completed once Ignition was served; for a config without Ignition, once any boot
 * file was (the appliance sees nothing after that). Otherwise stalled when the last milestone is `stallAfterMs` old.
 */
export function bootProgress(boot: BootRecord, now: number, options: { stallAfterMs: number; expectsIgnition: boolean }): BootProgress | undefined {
  const last = boot.milestones.at(-1);
  if (!last) return undefined;
  const done = boot.milestones.some((entry) => entry.name === "ignition" || (!options.expectsIgnition && BOOT_FILE_MILESTONES.has(entry.name)));
  if (done) return { state: "Completed", lastMilestone: last };
  const stallsAt = last.at + options.stallAfterMs;
  if (now >= stallsAt) return { state: "Stalled", lastMilestone: last };
  return { state: "Booting", lastMilestone: last, stallsAt };
}

const REASON_NAMES: Record<MilestoneName, string> = {
  chainload: "Chainload",
  script: "Script",
  httpboot: "HTTPBoot",
  kernel: "Kernel",
  initrd: "Initrd",
  squashfs: "Squashfs",
  uki: "UKI",
  "boot-file": "BootFile",
  ignition: "Ignition",
};

/** "StalledAfterScript", the condition reason for a boot stalled after `name`. */
export function stalledReason(name: MilestoneName): string {
  return `StalledAfter${REASON_NAMES[name]}`;
}

/** The status / JSON shape: plain strings, so it is the same in status.lastBoot and in /debug/machines. */
export interface LastBootStatus {
  startedAt: string;
  lastMilestone: MilestoneName;
  milestones: { name: MilestoneName; at: string; requester: string; path?: string }[];
}

export function lastBootStatus(boot: BootRecord): LastBootStatus | undefined {
  const last = boot.milestones.at(-1);
  if (!last) return undefined;
  return {
    startedAt: new Date(boot.startedAt).toISOString(),
    lastMilestone: last.name,
    milestones: boot.milestones.map((entry) => ({
      name: entry.name,
      at: new Date(entry.at).toISOString(),
      requester: entry.requester,
      ...(entry.path === undefined ? {} : { path: entry.path }),
    })),
  };
}

const MILESTONE_NAMES: ReadonlySet<string> = new Set(Object.keys(REASON_NAMES));

/** Back from the status shape; entries that do not parse (another writer, an older version) are dropped. */
export function bootFromStatus(status: unknown): BootRecord | undefined {
  if (typeof status !== "object" || status === null) return undefined;
  const entries = (status as { milestones?: unknown }).milestones;
  if (!Array.isArray(entries)) return undefined;
  const milestones: Milestone[] = [];
  for (const entry of entries as unknown[]) {
    if (typeof entry !== "object" || entry === null) continue;
    const { name, at, requester, path } = entry as Record<string, unknown>;
    if (typeof name !== "string" || !MILESTONE_NAMES.has(name) || typeof at !== "string" || typeof requester !== "string") continue;
    const time = Date.parse(at);
    if (Number.isNaN(time)) continue;
    milestones.push({ name: name as MilestoneName, at: time, requester, ...(typeof path === "string" ? { path } : {}) });
  }
  const first = milestones[0];
  return first ? { startedAt: first.at, milestones } : undefined;
}

/**
 * The last boot from two partial views (this replica's memory and what status already says, perhaps written by
 * another replica that served part of the same boot): their milestones in time order, from the last boot start.
 */
export function mergeBoots(a: BootRecord | undefined, b: BootRecord | undefined): BootRecord | undefined {
  if (!a || !b) return a ?? b;
  const seen = new Set<string>();
  const all = [...a.milestones, ...b.milestones]
    .filter((entry) => {
      const id = `${entry.name}|${entry.at}|${entry.requester}|${entry.path ?? ""}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    })
    .sort((x, y) => x.at - y.at);
  let boot: BootRecord | undefined;
  let chainload: Milestone | undefined;
  for (const entry of all) {
    if (entry.name === "chainload" && boot === undefined) {
      chainload = entry;
      continue;
    }
    const held = entry.name === "script" && chainload && entry.at - chainload.at <= CHAINLOAD_WINDOW_MS ? chainload : undefined;
    if (entry.name === "chainload") {
      // A chainload inside a boot belongs to the next one.
      chainload = entry;
      continue;
    }
    boot = foldMilestone(boot, { ...entry }, held);
    if (entry.name === "script") chainload = undefined;
  }
  return boot;
}
