// Holds the current index. A new snapshot replaces the index in one assignment, so every request reads one
// consistent generation; caches derived from secrets are pruned to the live set on each replacement. Each new index
// is built from the one it replaces, so a config that holds a machine's identifiers keeps them against newcomers.
// Each new index also starts the translation of every new Butane secret version and the parse of every new
// custom iPXE script (off the serving thread once serve gives the caches a worker), so requests and diagnoses
// read finished results.

import { BootIndex, type BootIndexOptions } from "../index/boot-index.ts";
import type { SnapshotUpdate, SourceProblem } from "../index/snapshot.ts";
import { IgnitionCache } from "./ignition.ts";
import { IpxeScriptCache } from "./ipxe-scripts.ts";
import { settleConfig } from "./servability.ts";
import { ZtpPayloadCache } from "./ztp/payload.ts";

export class BootStore {
  index: BootIndex;
  problems: readonly SourceProblem[] = [];
  /** True once the source delivered its first full snapshot: /readyz waits for this. */
  ready = false;
  generation = 0;
  readonly ignition = new IgnitionCache();
  readonly ipxeScripts = new IpxeScriptCache();
  /** Switch ZTP payloads, parsed once per Secret version; keeps the last good version of each. */
  readonly ztp = new ZtpPayloadCache();
  private readonly listeners: ((store: BootStore) => void)[] = [];

  constructor(private readonly indexOptions: BootIndexOptions = {}) {
    this.index = new BootIndex({ ipxeBootConfigs: [], httpBootConfigs: [], secrets: [] }, undefined, indexOptions);
  }

  apply(update: SnapshotUpdate): void {
    this.index = new BootIndex(update.snapshot, this.index, this.indexOptions);
    this.problems = update.problems;
    this.ignition.refresh(this.index);
    this.ipxeScripts.refresh(this.index);
    this.ztp.refresh(this.index);
    this.generation++;
    this.ready = true;
    for (const listener of this.listeners) listener(this);
  }

  /**
   * Resolves once the ignition translation and iPXE script parse the config needs (as the current index has it) has finished, so a
   * diagnosis made next reads the result rather than "still being translated". At once when nothing is pending.
   */
  async settle(kind: "IPXEBootConfig" | "HTTPBootConfig", key: string): Promise<void> {
    const config = kind === "IPXEBootConfig" ? this.index.ipxeByKey.get(key) : this.index.httpByKey.get(key);
    if (config) await settleConfig(this.index, this, config);
  }

  onChange(listener: (store: BootStore) => void): void {
    this.listeners.push(listener);
  }
}
