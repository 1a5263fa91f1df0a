// What every resource source delivers. The index and the routes never learn which source is running.
import type { SnapshotUpdate } from "../index/snapshot.ts";

export interface ResourceSource {
  readonly description: string;
  /** Delivers the first full snapshot before resolving, then one per change. */
  start(onUpdate: (update: SnapshotUpdate) => void): Promise<void>;
  stop(): Promise<void>;
  /** Re-read now (SIGHUP); sources that push changes themselves may ignore it. */
  reload?(): void;
}
