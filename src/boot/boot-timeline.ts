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
import type { HTTPBootConfig } from "../api/httpbootconfig.ts";
import type { IPXEBootConfig } from "../api/ipxebootconfig.ts";
import { type BOOT_MILESTONES, MAX_BOOT_MILESTONES, objectKey } from "../api/meta.ts";
import type { BootIndex } from "../index/boot-index.ts";
import type { ServedEvent } from "./served.ts";

type MilestoneName = (typeof BOOT_MILESTONES)[number];
export type ConfigKind = "IPXEBootConfig" | "HTTPBootConfig";

interface Milestone {
  name: MilestoneName;
  at: Date;
  /** The TCP peer (for /httpboot: the machine the DHCP server names). */
  requester: string;
  /** What was fetched, for boot files (path on this appliance). */
  path?: string;
}

interface BootRecord {
  startedAt: Date;
  /** In the order they happened; at most MAX_MILESTONES (the first, which started the boot, is always kept). */
  milestones: Milestone[];
}

export interface ConfigTimeline {
  kind: ConfigKind;
  key: string;
  boot: BootRecord;
}

export const MAX_MILESTONES = MAX_BOOT_MILESTONES;
/** Configs with a timeline; the one booted longest ago is forgotten first. */
const MAX_CONFIGS = 10_000;
/** Requesters remembered for attribution and pending chainloads. */
const MAX_REQUESTERS = 10_000;
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

/** What the timeline needs from the configs: which config names which boot-file URL. Rebuilt when the index changes. */
interface BootUrlIndex {
  /** URL key → "kind|key" → what that config names it. A Map, not a list: a fleet often shares one kernel URL. */
  byUrl: ReadonlyMap<string, ReadonlyMap<string, NamedUrl>>;
  /** Configs that name at least one boot-file URL ("kind|key"). */
  namingConfigs: ReadonlySet<string>;
}

const NO_NAMED_URLS: ReadonlyMap<string, NamedUrl> = new Map();
/** Configs naming one URL beyond which a fetch of it is not attributed by the URL alone. */
const MAX_URL_ATTRIBUTION_CANDIDATES = 64;

const EMPTY_URL_INDEX: BootUrlIndex = { byUrl: new Map(), namingConfigs: new Set() };

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

/** An index's configs; with the by-key maps a later build can patch this one's URLs (see bootUrlIndex). */
type UrlConfigs = Pick<BootIndex, "ipxeBootConfigs" | "httpBootConfigs"> & Partial<Pick<BootIndex, "ipxeByKey" | "httpByKey">>;
type KeyedConfigs = Pick<BootIndex, "ipxeByKey" | "httpByKey">;

/** The boot-file URLs one config names, in the order a full build visits them (the first name of a URL wins). */
function namedUrls(kind: ConfigKind, config: IPXEBootConfig | HTTPBootConfig): [MilestoneName, string | undefined][] {
  if (kind === "HTTPBootConfig") return [["uki", (config as HTTPBootConfig).spec.ukiURL]];
  const spec = (config as IPXEBootConfig).spec;
  return [
    ["kernel", spec.kernelURL],
    ["initrd", spec.initrdURL],
    ["squashfs", spec.squashfsURL],
  ];
}

/** Keys whose config is not the same object in `next` as in `previous` (changed, added or removed). */
function changedConfigKeys<T>(previous: ReadonlyMap<string, T>, next: ReadonlyMap<string, T>, limit: number): string[] | undefined {
  const changed: string[] = [];
  for (const [key, config] of next) {
    if (previous.get(key) === config) continue;
    changed.push(key);
    if (changed.length > limit) return undefined;
  }
  if (previous.size > next.size - changed.length) for (const key of previous.keys()) if (!next.has(key)) changed.push(key);
  return changed.length > limit ? undefined : changed;
}

/**
 * Which config names which boot-file URL. With `previous` (the URLs of an earlier index), only the configs that
 * are not the same objects as there are looked at, and only the URL maps they touch are copied: at 10 000 machines a
 * full build took tens of milliseconds on the serving thread after every change, in the middle of the next
 * change's window. Many changed configs (a first load, a resync) build from scratch.
 */
export function bootUrlIndex(index: UrlConfigs, previous?: { index: UrlConfigs; urls: BootUrlIndex }): BootUrlIndex {
  const before = previous?.index;
  if (previous && before?.ipxeByKey && before.httpByKey && index.ipxeByKey && index.httpByKey) {
    const keyed = { ipxeByKey: index.ipxeByKey, httpByKey: index.httpByKey };
    const limit = Math.max(64, (keyed.ipxeByKey.size + keyed.httpByKey.size) >> 3);
    const changedIpxe = changedConfigKeys(before.ipxeByKey, keyed.ipxeByKey, limit);
    const changedHttp = changedIpxe ? changedConfigKeys(before.httpByKey, keyed.httpByKey, limit) : undefined;
    if (changedIpxe && changedHttp) {
      return patchedUrlIndex(keyed, { index: { ipxeByKey: before.ipxeByKey, httpByKey: before.httpByKey }, urls: previous.urls }, changedIpxe, changedHttp);
    }
  }
  const byUrl = new Map<string, Map<string, NamedUrl>>();
  const namingConfigs = new Set<string>();
  // Rebuilt on every index change: a fleet shares a few URLs, so each is parsed once per build, and a config is
  // looked up in the URL's map rather than searched for in a list (that search made one build O(configs²):
  // seconds at 10 000 machines naming one kernel, with requests waiting behind it).
  const keyOfUrl = new Map<string, string | null>();
  const add = (kind: ConfigKind, key: string, name: MilestoneName, url: string | undefined): void => {
    if (!url) return;
    let urlKey = keyOfUrl.get(url);
    if (urlKey === undefined) {
      urlKey = bootUrlKey(url);
      keyOfUrl.set(url, urlKey);
    }
    if (!urlKey) return;
    let named = byUrl.get(urlKey);
    if (!named) {
      named = new Map();
      byUrl.set(urlKey, named);
    }
    const id = timelineId(kind, key);
    if (!named.has(id)) named.set(id, { kind, key, name });
    namingConfigs.add(id);
  };
  for (const config of index.ipxeBootConfigs) {
    const key = objectKey(config.metadata);
    for (const [name, url] of namedUrls("IPXEBootConfig", config)) add("IPXEBootConfig", key, name, url);
  }
  for (const config of index.httpBootConfigs) add("HTTPBootConfig", objectKey(config.metadata), "uki", config.spec.ukiURL);
  return { byUrl, namingConfigs };
}

/** `previous.urls` with the changed configs' entries replaced; maps and the set are copied only where they change. */
function patchedUrlIndex(
  index: KeyedConfigs,
  previous: { index: KeyedConfigs; urls: BootUrlIndex },
  changedIpxe: readonly string[],
  changedHttp: readonly string[],
): BootUrlIndex {
  const byUrl = new Map(previous.urls.byUrl);
  const copied = new Set<string>();
  const writable = (urlKey: string): Map<string, NamedUrl> => {
    const current = byUrl.get(urlKey);
    if (current && copied.has(urlKey)) return current as Map<string, NamedUrl>;
    const copy = new Map(current ?? []);
    byUrl.set(urlKey, copy);
    copied.add(urlKey);
    return copy;
  };
  let namingConfigs: Set<string> | undefined;
  const naming = (): Set<string> => {
    namingConfigs ??= new Set(previous.urls.namingConfigs);
    return namingConfigs;
  };
  const replace = (
    kind: ConfigKind,
    key: string,
    before: IPXEBootConfig | HTTPBootConfig | undefined,
    after: IPXEBootConfig | HTTPBootConfig | undefined,
  ): void => {
    const id = timelineId(kind, key);
    for (const [, url] of before ? namedUrls(kind, before) : []) {
      const urlKey = url ? bootUrlKey(url) : null;
      if (!urlKey || !byUrl.get(urlKey)?.has(id)) continue;
      const named = writable(urlKey);
      named.delete(id);
      if (named.size === 0) byUrl.delete(urlKey);
    }
    let names = false;
    for (const [name, url] of after ? namedUrls(kind, after) : []) {
      const urlKey = url ? bootUrlKey(url) : null;
      if (!urlKey) continue;
      names = true;
      if (!byUrl.get(urlKey)?.has(id)) writable(urlKey).set(id, { kind, key, name });
    }
    if (names !== (namingConfigs ?? previous.urls.namingConfigs).has(id)) {
      if (names) naming().add(id);
      else naming().delete(id);
    }
  };
  for (const key of changedIpxe) replace("IPXEBootConfig", key, previous.index.ipxeByKey.get(key), index.ipxeByKey.get(key));
  for (const key of changedHttp) replace("HTTPBootConfig", key, previous.index.httpByKey.get(key), index.httpByKey.get(key));
  return { byUrl, namingConfigs: namingConfigs ?? previous.urls.namingConfigs };
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

/** Map insertion order as recency: a touched key moves to the end, the oldest is dropped over the cap. */
function touch<K, V>(map: Map<K, V>, key: K, value: V, cap: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > cap) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
}

const timelineId = (kind: ConfigKind, key: string): string => `${kind}|${key}`;

/** Folds one milestone into a boot (mutating it); returns the boot it now belongs to (a new one on a new start). */
function foldMilestone(boot: BootRecord | undefined, milestone: Milestone, chainload?: Milestone): BootRecord {
  if (START_MILESTONES.has(milestone.name)) {
    const last = boot?.milestones.at(-1);
    const nothingSince = boot?.milestones.every((entry) => entry.name === "chainload" || START_MILESTONES.has(entry.name)) ?? false;
    if (
      boot &&
      last &&
      nothingSince &&
      last.name === milestone.name &&
      last.requester === milestone.requester &&
      milestone.at.getTime() - last.at.getTime() < RETRY_WINDOW_MS
    ) {
      last.at = milestone.at;
      return boot;
    }
    const milestones = chainload ? [chainload, milestone] : [milestone];
    return { startedAt: milestones[0]?.at ?? milestone.at, milestones };
  }
  if (!boot) return { startedAt: milestone.at, milestones: [milestone] };
  // A file fetched again (a range request, a retry) moves to the end rather than filling the list.
  const again = boot.milestones.findIndex(
    (entry, position) => position > 0 && entry.name === milestone.name && entry.path === milestone.path && entry.requester === milestone.requester,
  );
  if (again >= 0) boot.milestones.splice(again, 1);
  boot.milestones.push(milestone);
  if (boot.milestones.length > MAX_MILESTONES) boot.milestones.splice(1, 1);
  return boot;
}

export class BootTimelines {
  readonly stats = { recorded: 0, unattributed: 0 };
  private readonly timelines = new Map<string, ConfigTimeline>();
  /** The boot each requester started last. */
  private readonly bootByRequester = new Map<string, { kind: ConfigKind; key: string; at: number }>();
  private readonly chainloadByRequester = new Map<string, Milestone>();
  private urls: BootUrlIndex = EMPTY_URL_INDEX;
  /** The next index's URLs, built on first use (bootUrlIndex is O(configs): not on the change's serving path). */
  private pendingUrls: (() => BootUrlIndex) | undefined;

  useUrls(urls: BootUrlIndex | (() => BootUrlIndex)): void {
    if (typeof urls === "function") this.pendingUrls = urls;
    else {
      this.urls = urls;
      this.pendingUrls = undefined;
    }
  }

  /** The URL index in use, building a pending one now (serve warms it shortly after a change). */
  urlIndex(): BootUrlIndex {
    if (this.pendingUrls) {
      this.urls = this.pendingUrls();
      this.pendingUrls = undefined;
    }
    return this.urls;
  }

  /** Hot path. Returns the timeline the event changed, or undefined when it belongs to no config (yet). */
  record(event: ServedEvent): ConfigTimeline | undefined {
    // Switches have their own *Fetched conditions; the boot timeline follows servers.
    if (event.kind === "SwitchBootConfig") return undefined;
    this.stats.recorded++;
    const requester = canonicalIp(event.client) ?? event.client;
    const name = milestoneOf(event);
    if (name === "chainload") {
      touch(this.chainloadByRequester, requester, { name, at: event.at, requester }, MAX_REQUESTERS);
      return undefined;
    }
    if (name) {
      if (!event.kind || !event.configKey) return undefined;
      const milestone: Milestone = { name, at: event.at, requester };
      let chainload: Milestone | undefined;
      if (name === "script") {
        const held = this.chainloadByRequester.get(requester);
        if (held && event.at.getTime() - held.at.getTime() <= CHAINLOAD_WINDOW_MS && held.at <= event.at) chainload = held;
        this.chainloadByRequester.delete(requester);
      }
      if (START_MILESTONES.has(name))
        touch(this.bootByRequester, requester, { kind: event.kind, key: event.configKey, at: event.at.getTime() }, MAX_REQUESTERS);
      return this.add(event.kind, event.configKey, milestone, chainload);
    }
    const path = event.path.length > MAX_PATH_CHARS ? event.path.slice(0, MAX_PATH_CHARS) : event.path;
    const target = this.attribute(requester, event.path, event.at.getTime());
    if (!target) {
      this.stats.unattributed++;
      return undefined;
    }
    return this.add(target.kind, target.key, { name: target.name, at: event.at, requester, path }, undefined);
  }

  get(kind: ConfigKind, key: string): ConfigTimeline | undefined {
    return this.timelines.get(timelineId(kind, key));
  }

  /** Every timeline, the most recently booted first; bounded by `limit`. */
  list(limit: number): ConfigTimeline[] {
    const all = [...this.timelines.values()];
    all.sort((a, b) => (b.boot.milestones.at(-1)?.at.getTime() ?? 0) - (a.boot.milestones.at(-1)?.at.getTime() ?? 0));
    return all.slice(0, limit);
  }

  get size(): number {
    return this.timelines.size;
  }

  private add(kind: ConfigKind, key: string, milestone: Milestone, chainload: Milestone | undefined): ConfigTimeline {
    const id = timelineId(kind, key);
    const existing = this.timelines.get(id);
    const boot = foldMilestone(existing?.boot, milestone, chainload);
    const timeline = existing ?? { kind, key, boot };
    timeline.boot = boot;
    touch(this.timelines, id, timeline, MAX_CONFIGS);
    return timeline;
  }

  private attribute(requester: string, path: string, at: number): NamedUrl | undefined {
    const urlKey = path.startsWith("/image") ? bootUrlKey(path) : path;
    const urls = this.urlIndex();
    const named = (urlKey ? urls.byUrl.get(urlKey) : undefined) ?? NO_NAMED_URLS;
    const open = (kind: ConfigKind, key: string): boolean => {
      const started = this.timelines.get(timelineId(kind, key))?.boot.startedAt.getTime();
      return started !== undefined && at - started <= ATTRIBUTION_WINDOW_MS && at >= started;
    };
    const active = this.bootByRequester.get(requester);
    if (active && at - active.at <= ATTRIBUTION_WINDOW_MS) {
      const byUrl = named.get(timelineId(active.kind, active.key));
      if (byUrl) return byUrl;
      if (!urls.namingConfigs.has(timelineId(active.kind, active.key)) || named.size === 0) {
        return { kind: active.kind, key: active.key, name: guessBootFileName(path) };
      }
    }
    // By URL alone only when few configs name it: a URL the whole fleet shares says nothing about who asked, and
    // scanning it per kernel fetch would cost O(fleet) on the request path.
    if (named.size > MAX_URL_ATTRIBUTION_CANDIDATES) return undefined;
    let found: NamedUrl | undefined;
    for (const entry of named.values()) {
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
  stallsAt?: Date;
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
  const stallsAt = last.at.getTime() + options.stallAfterMs;
  if (now >= stallsAt) return { state: "Stalled", lastMilestone: last };
  return { state: "Booting", lastMilestone: last, stallsAt: new Date(stallsAt) };
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
    startedAt: boot.startedAt.toISOString(),
    lastMilestone: last.name,
    milestones: boot.milestones.map((entry) => ({
      name: entry.name,
      at: entry.at.toISOString(),
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
    const time = new Date(at);
    if (Number.isNaN(time.getTime())) continue;
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
      const id = `${entry.name}|${entry.at.getTime()}|${entry.requester}|${entry.path ?? ""}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    })
    .sort((x, y) => x.at.getTime() - y.at.getTime());
  let boot: BootRecord | undefined;
  let chainload: Milestone | undefined;
  for (const entry of all) {
    if (entry.name === "chainload" && boot === undefined) {
      chainload = entry;
      continue;
    }
    const held = entry.name === "script" && chainload && entry.at.getTime() - chainload.at.getTime() <= CHAINLOAD_WINDOW_MS ? chainload : undefined;
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
