// The translator's ServerBootConfiguration turning Ready means metal-operator powers the machine on next: that opens
// a new boot window for the IPXEBootConfig the translator made from it (same namespace and name). Every replica
// watches the SBCs anyway (translator trust), so every replica opens its own window. Only transitions count: an
// SBC already Ready when the process starts needs nothing, every window is open at start.

export type SbcStateOf = (key: string) => string | undefined;

export class SbcReadyWindows {
  private readonly ready = new Set<string>();

  constructor(
    private readonly stateOf: SbcStateOf,
    private readonly openWindow: (configId: string, sbcKey: string) => void,
  ) {}

  /** The SBCs as the cache has them now: those Ready are not a transition. */
  seed(keys: Iterable<string>): void {
    for (const key of keys) if (this.stateOf(key) === "Ready") this.ready.add(key);
  }

  /** SBCs changed (or were deleted): open a window for each that became Ready. */
  changed(keys: readonly string[]): void {
    for (const key of keys) {
      if (this.stateOf(key) !== "Ready") {
        this.ready.delete(key);
        continue;
      }
      if (this.ready.has(key)) continue;
      this.ready.add(key);
      this.openWindow(`IPXEBootConfig|${key}`, key);
    }
  }
}
