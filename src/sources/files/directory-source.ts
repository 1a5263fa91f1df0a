// Directory of Kubernetes-shaped YAML/JSON files, reloaded live. Only changed files are re-read; a change is
// debounced so an editor's write-rename-chmod burst becomes one reload.
import { type FSWatcher, watch } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { SnapshotUpdate } from "../../index/snapshot.ts";
import type { ResourceSource } from "../types.ts";
import { type DecodedFile, decodeResourceFile } from "./documents.ts";
import { ResourceSet } from "./resource-set.ts";

const RESOURCE_FILE = /\.(ya?ml|json)$/i;

interface DirectorySourceOptions {
  directory: string;
  /** Quiet period after the last change before reloading. */
  debounceMs?: number;
  /** Full rescan interval, for file systems where change notification is unreliable (NFS, some mounts). */
  rescanIntervalMs?: number;
  onReloadError?: (error: Error) => void;
}

/** kustomize's own files live beside the resources they list (manifests/samples does this); they are not resources. */
const KUSTOMIZE_FILE = /(^|\/)(kustomization|Kustomization)\.ya?ml$/;

/** Paths (relative) of resource files under `directory`, skipping dot-entries such as ConfigMap `..data` dirs. */
async function listResourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true });
  return entries
    .filter((entry) => RESOURCE_FILE.test(entry) && !KUSTOMIZE_FILE.test(entry) && !entry.split("/").some((segment) => segment.startsWith(".")))
    .sort();
}

export class DirectorySource implements ResourceSource {
  readonly description: string;
  private readonly cache = new Map<string, { version: string; decoded: DecodedFile }>();
  private readonly resources = new ResourceSet();
  private watcher: FSWatcher | undefined;
  private rescanTimer: ReturnType<typeof setInterval> | undefined;
  private debounceTimer: ReturnType<typeof setTimeout> | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private onUpdate: ((update: SnapshotUpdate) => void) | undefined;
  private lastFingerprint = "";

  constructor(private readonly options: DirectorySourceOptions) {
    this.description = `dir:${options.directory}`;
  }

  async start(onUpdate: (update: SnapshotUpdate) => void): Promise<void> {
    this.onUpdate = onUpdate;
    const info = await stat(this.options.directory).catch(() => null);
    if (!info?.isDirectory()) throw new Error(`resource directory ${this.options.directory} does not exist or is not a directory`);
    await this.rescan(true);
    try {
      this.watcher = watch(this.options.directory, { recursive: true }, () => this.scheduleReload());
      this.watcher.on("error", () => this.scheduleReload());
    } catch {
      // Without notifications the periodic rescan below still picks changes up.
    }
    this.rescanTimer = setInterval(() => this.scheduleReload(), this.options.rescanIntervalMs ?? 10_000);
    this.rescanTimer.unref?.();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    await this.reloading;
  }

  reload(): void {
    this.scheduleReload();
  }

  private scheduleReload(): void {
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.reloading = this.reloading.then(() => this.rescan(false)).catch((error: unknown) => this.options.onReloadError?.(error as Error));
    }, this.options.debounceMs ?? 30);
  }

  /** Re-reads changed files; emits an update only when something changed (or on the first load). */
  private async rescan(initial: boolean): Promise<void> {
    const directory = this.options.directory;
    const paths = await listResourceFiles(directory);
    const decodedFiles = new Map<string, DecodedFile>();
    const versions: string[] = [];
    // stat and read in parallel batches: one file at a time took 170–370 ms per change at 10 000 files.
    const results = await mapInBatches(paths, 128, async (path) => {
      const absolute = join(directory, path);
      const info = await stat(absolute).catch(() => null);
      if (!info?.isFile()) return null;
      const version = `${info.mtimeMs}:${info.size}:${info.ino}`;
      const cached = this.cache.get(path);
      if (cached && cached.version === version) return { path, version, decoded: cached.decoded };
      const text = await readFile(absolute, "utf8").catch((error: Error) => error);
      const decoded: DecodedFile =
        typeof text === "string"
          ? decodeResourceFile(absolute, text)
          : { ok: false, problem: { severity: "error", origin: absolute, path: "", message: `cannot read: ${text.message}` } };
      return { path, version, decoded };
    });
    for (const result of results) {
      if (!result) continue;
      versions.push(`${result.path}@${result.version}`);
      this.cache.set(result.path, { version: result.version, decoded: result.decoded });
      decodedFiles.set(result.path, result.decoded);
    }
    for (const path of this.cache.keys()) if (!decodedFiles.has(path)) this.cache.delete(path);
    const fingerprint = versions.join("\n");
    if (!initial && fingerprint === this.lastFingerprint) return;
    this.lastFingerprint = fingerprint;
    this.onUpdate?.(this.resources.rebuild(decodedFiles));
  }
}

/** Runs `task` over `items` with at most `width` in flight, keeping the input order in the result. */
async function mapInBatches<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width) results.push(...(await Promise.all(items.slice(i, i + width).map(task))));
  return results;
}

/** Loads a directory once, for `validate` and `explain`. */
export async function loadDirectoryOnce(directory: string): Promise<SnapshotUpdate> {
  let result: SnapshotUpdate | undefined;
  const source = new DirectorySource({ directory });
  await source.start((update) => {
    result = update;
  });
  await source.stop();
  return result!;
}
