// Holds the current index. A new snapshot replaces the index in one assignment, so every request reads one
// consistent generation; caches derived from secrets are pruned to the live set on each replacement. Each new index
// is built from the one it replaces, so a config that holds a machine's identifiers keeps them against newcomers.

import { BootIndex, type BootIndexOptions } from "../index/boot-index.ts";
import type { SnapshotUpdate, SourceProblem } from "../index/snapshot.ts";
import { IgnitionCache } from "./ignition.ts";
import { IpxeScriptCache } from "./ipxe-scripts.ts";

export class BootStore {
  index: BootIndex;
  problems: readonly SourceProblem[] = [];
  /** True once the source delivered its first full snapshot: /readyz waits for this. */
  ready = false;
  generation = 0;
  readonly ignition = new IgnitionCache();
  readonly ipxeScripts = new IpxeScriptCache();
  private readonly listeners: ((store: BootStore) => void)[] = [];

  constructor(private readonly indexOptions: BootIndexOptions = {}) {
    this.index = new BootIndex({ ipxeBootConfigs: [], httpBootConfigs: [], secrets: [] }, undefined, indexOptions);
  }

  apply(update: SnapshotUpdate): void {
    this.index = new BootIndex(update.snapshot, this.index, this.indexOptions);
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
