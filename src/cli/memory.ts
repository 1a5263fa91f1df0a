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
// At idle the process is not busy, so nothing runs. When a storm is over (not busy for a few seconds) one full
// collection gives its garbage back, as after a change of the resource set.
// Every full collection is followed by Bun.shrink(), which has JSC decommit its free blocks once it is idle:
// idle RSS 25 s after ready went from 160.8-163.1 to 152.9-154.5 MiB.
import { heapSize } from "bun:jsc";

export interface CollectorOptions {
  /** Quiet time after the last change of the resource set (the parse/translate workers retire after 10 s). */
  settleMs: number;
  /** How often the heap is looked at for growth since the last collection. */
  checkMs: number;
  /** A collection when the heap is this many times its size after the last collection. */
  growthFactor: number;
  /** How often the process is looked at for a storm's young garbage. */
  youngCheckMs: number;
  /** A young-only collection when the process used this much CPU (µs) since the last look. */
  youngBusyMicros: number;
  /** A full collection once young collections have stopped for this long (a storm is over). */
  quietAfterBusyMs: number;
  /** Injected in tests: a full, synchronous collection. */
  collect?: () => void;
  /** Injected in tests: a young-only (eden) collection. */
  collectYoung?: () => void;
  heapBytes?: () => number;
  /** Injected in tests: the process's CPU time so far (µs). */
  cpuMicros?: () => number;
}

function processCpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

export const DEFAULT_COLLECTOR: CollectorOptions = {
  settleMs: 12_000,
  checkMs: 30_000,
  growthFactor: 1.5,
  youngCheckMs: 100,
  youngBusyMicros: 25_000,
  quietAfterBusyMs: 3_000,
};

export class IdleCollector {
  private settleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly checkTimer: ReturnType<typeof setInterval>;
  private readonly youngTimer: ReturnType<typeof setInterval>;
  private sizeAfterCollection: number;
  private cpuAtLastLook: number;
  /** When the last young collection ran, until the full one after it. */
  private lastYoungAt: number | undefined;
  private readonly collect: () => void;
  private readonly collectYoung: () => void;
  private readonly heapBytes: () => number;
  private readonly cpuMicros: () => number;
  collections = 0;
  youngCollections = 0;

  constructor(private readonly options: CollectorOptions = DEFAULT_COLLECTOR) {
    this.collect =
      options.collect ??
      (() => {
        Bun.gc(true);
        Bun.shrink();
      });
    this.heapBytes = options.heapBytes ?? heapSize;
    this.collectYoung = options.collectYoung ?? (() => Bun.gc(false));
    this.cpuMicros = options.cpuMicros ?? processCpuMicros;
    this.sizeAfterCollection = this.heapBytes();
    this.cpuAtLastLook = this.cpuMicros();
    this.checkTimer = setInterval(() => this.checkGrowth(), options.checkMs);
    this.checkTimer.unref?.();
    this.youngTimer = setInterval(() => this.checkYoung(), options.youngCheckMs);
    this.youngTimer.unref?.();
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

  stop(): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    clearInterval(this.checkTimer);
    clearInterval(this.youngTimer);
  }

  private checkYoung(): void {
    const now = Date.now();
    const cpu = this.cpuMicros();
    const busy = cpu - this.cpuAtLastLook >= this.options.youngBusyMicros;
    this.cpuAtLastLook = cpu;
    if (busy) {
      this.collectYoung();
      this.youngCollections++;
      this.lastYoungAt = now;
    } else if (this.lastYoungAt !== undefined && now - this.lastYoungAt >= this.options.quietAfterBusyMs) {
      this.lastYoungAt = undefined;
      this.run();
    }
  }

  private checkGrowth(): void {
    if (this.heapBytes() > this.sizeAfterCollection * this.options.growthFactor) this.run();
  }

  private run(): void {
    this.collect();
    this.collections++;
    this.sizeAfterCollection = this.heapBytes();
  }
}
