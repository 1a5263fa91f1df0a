// When the process gives memory back. JSC collects by allocation volume, and with a 70-80 MiB live heap it lets the
// heap double before a full collection; what start-up (30 000 parsed objects, worker replies, diagnoses) and a
// request storm leave behind then sits in the allocator until the next one, which at idle never comes. Measured at
// 10 000 machines (dir source, compiled binary): RSS 196 MiB 20 s after ready, 175 MiB after one Bun.gc(true)
// (live heap 79 MiB); with this collector idle RSS 30 s after ready was 189/174 MiB against 202/197 without.
// A full collection costs ~60 ms of one core, so it runs only when the process is quiet or has grown, never on a
// per-request schedule (a forced one every second under a storm halved the request rate).
// Under a request storm the garbage is young (Request/Response wrappers and the native memory they hold), and JSC
// lets eden grow with the heap before it collects: at 10 000 machines (/ipxe storm, wrk -c64) RSS peaked at
// 339-363 MiB. A young-only collection every 100 ms while the storm lasts kept the peak at 270-281 MiB, at the same
// CPU per request. "While the storm lasts" is read from the process's CPU time (a quarter of a core since the last
// look), not from the heap: bun:jsc heapSize() walks every block of the heap, and under a storm it cost 2-3 ms a
// call at 100-160 MiB (it was the top entry of the Kubernetes-mode profile, 18 % of the samples).
// At idle the process is not busy, so nothing runs. When a storm is over (idle for a few seconds) one full
// collection gives its garbage back, as after a change of the resource set. Idle, not merely below the storm
// threshold: in Kubernetes mode a storm is followed by its status writes draining for 30-40 s at a fifth of a core,
// and "no young collection for 3 s" fired a full collection every 3-10 s through that drain and through the
// start-up write-out: at 10 000 machines 16 in one run (start-up and one /ipxe storm) of 90-190 ms of CPU each,
// against 4 with this rule; the drain's 9 800 writes cost the process 6.8 s of CPU instead of 8.2 s.
// Every full collection is followed by Bun.shrink(), which has JSC decommit its free blocks once it is idle:
// idle RSS 25 s after ready went from 160.8-163.1 to 152.9-154.5 MiB.
// What a storm leaves that serves only while it lasts (the boot routes' answer memos: 20 000 rendered bodies at
// 10 000 machines) is let go just before that storm's full collection (afterStorm), so the collection takes it too.
import { heapSize } from "bun:jsc";
import { CpuLoad, processCpuMicros } from "../observability/cpu-load.ts";

export interface CollectorOptions {
  /** Quiet time after the last change of the resource set (the parse/translate workers retire after 10 s). */
  settleMs: number;
  /** How often the heap is looked at for growth since the last collection. */
  checkMs: number;
  /** A collection when the heap is this many times its size after the last collection. */
  growthFactor: number;
  /** How often the process is looked at for a storm's young garbage (without a shared CpuLoad). */
  youngCheckMs: number;
  /** A young-only collection when the process used this much CPU (µs) since the last look. */
  youngBusyMicros: number;
  /** A full collection once the process has been idle for this long after a storm (the storm is over). */
  quietAfterBusyMs: number;
  /** Idle in a look: less CPU (µs) than this since the last (a status write-out's drain is not idle). */
  idleMicros: number;
  /** Injected in tests: a full, synchronous collection. */
  collect?: () => void;
  /** Injected in tests: a young-only (eden) collection. */
  collectYoung?: () => void;
  heapBytes?: () => number;
  /** Injected in tests: the process's CPU time so far (µs). */
  cpuMicros?: () => number;
}

export const DEFAULT_COLLECTOR: CollectorOptions = {
  settleMs: 12_000,
  checkMs: 30_000,
  growthFactor: 1.5,
  youngCheckMs: 100,
  youngBusyMicros: 25_000,
  quietAfterBusyMs: 3_000,
  idleMicros: 5_000,
};

export class IdleCollector {
  private settleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly checkTimer: ReturnType<typeof setInterval>;
  private readonly load: CpuLoad;
  private readonly ownsLoad: boolean;
  private readonly stopLooking: () => void;
  private sizeAfterCollection: number;
  /** Since when the process has been idle after a storm, until the full collection that ends it; undefined: no storm. */
  private idleSince: number | undefined;
  private readonly collect: () => void;
  private readonly collectYoung: () => void;
  private readonly heapBytes: () => number;
  private readonly stormReleases = new Set<() => void>();
  private readonly cpuNow: () => number;
  /** CPU (µs) the collector's own full collections used since the last look: not the process's work. */
  private ownMicros = 0;
  collections = 0;
  youngCollections = 0;

  /** `load`: the process's shared CPU looks (serve's); without it the collector looks every youngCheckMs itself. */
  constructor(
    private readonly options: CollectorOptions = DEFAULT_COLLECTOR,
    load?: CpuLoad,
  ) {
    this.collect =
      options.collect ??
      (() => {
        Bun.gc(true);
        Bun.shrink();
      });
    this.heapBytes = options.heapBytes ?? heapSize;
    this.collectYoung = options.collectYoung ?? (() => Bun.gc(false));
    this.cpuNow = options.cpuMicros ?? processCpuMicros;
    this.sizeAfterCollection = this.heapBytes();
    this.checkTimer = setInterval(() => this.checkGrowth(), options.checkMs);
    this.checkTimer.unref?.();
    this.ownsLoad = load === undefined;
    this.load =
      load ??
      new CpuLoad({
        periodMs: options.youngCheckMs,
        saturatedShare: 1,
        holdMs: 0,
        ...(options.cpuMicros ? { cpuMicros: options.cpuMicros } : {}),
      });
    this.stopLooking = this.load.onLook((used, now) => this.checkYoung(used, now));
  }

  /** The resource set changed: collect once it has been quiet for settleMs. */
  changed(): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      this.run();
    }, this.options.settleMs);
    this.settleTimer.unref?.();
  }

  /**
   * `release` runs when a storm is over, just before its full collection: for what is worth keeping only while the
   * storm lasts. Returns the unregistration.
   */
  afterStorm(release: () => void): () => void {
    this.stormReleases.add(release);
    return () => this.stormReleases.delete(release);
  }

  stop(): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    clearInterval(this.checkTimer);
    this.stopLooking();
    if (this.ownsLoad) this.load.stop();
  }

  /**
   * `usedInLook`: CPU (µs) since the previous look. Less what the collector itself spent on a full collection: the
   * one that ends a storm (60-190 ms) looked like a storm of its own and was followed by a second, 3 s later.
   */
  private checkYoung(usedInLook: number, now: number): void {
    const used = Math.max(0, usedInLook - this.ownMicros);
    this.ownMicros = 0;
    if (used >= this.options.youngBusyMicros) {
      this.collectYoung();
      this.youngCollections++;
      this.idleSince = now;
    } else if (this.idleSince !== undefined) {
      if (used >= this.options.idleMicros) this.idleSince = now;
      else if (now - this.idleSince >= this.options.quietAfterBusyMs) {
        this.idleSince = undefined;
        for (const release of this.stormReleases) release();
        this.run();
      }
    }
  }

  private checkGrowth(): void {
    if (this.heapBytes() > this.sizeAfterCollection * this.options.growthFactor) this.run();
  }

  private run(): void {
    const before = this.cpuNow();
    this.collect();
    this.ownMicros += this.cpuNow() - before;
    this.collections++;
    this.sizeAfterCollection = this.heapBytes();
  }
}
