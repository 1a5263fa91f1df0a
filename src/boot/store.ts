// Holds the current index. A new snapshot replaces the index in one assignment, so every request reads one
// consistent generation; caches derived from secrets are pruned to the live set on each replacement.

import { BootIndex } from "../index/boot-index.ts";
import type { SnapshotUpdate, SourceProblem } from "../index/snapshot.ts";
import { IgnitionCache } from "./ignition.ts";
import { IpxeScriptCache } from "./ipxe-scripts.ts";

export class BootStore {
  index = new BootIndex({ ipxeBootConfigs: [], httpBootConfigs: [], secrets: [] });
  problems: readonly SourceProblem[] = [];
  /** True once the source delivered its first full snapshot: /readyz waits for this. */
  ready = false;
  generation = 0;
  readonly ignition = new IgnitionCache();
  readonly ipxeScripts = new IpxeScriptCache();
  private readonly listeners: ((store: BootStore) => void)[] = [];

  apply(update: SnapshotUpdate): void {
    this.index = new BootIndex(update.snapshot);
    this.problems = update.problems;
    this.ignition.prune(this.index);
    this.ipxeScripts.prune(this.index);
    this.generation++;
    this.ready = true;
    for (const listener of this.listeners) listener(this);
  }

  onChange(listener: (store: BootStore) => void): void {
    this.listeners.push(listener);
  }
}
