// How busy this process is, looked at on one timer from its CPU time (getrusage, no heap walk). Two readers: the
// idle collector (young collections while a storm lasts, a full one once it is over) and work that can wait while
// the process is saturated answering machines (the served-status writes). One timer serves both, so they agree on
// what "busy" is and a look costs one syscall however many readers there are.

export function processCpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

export interface CpuLoadOptions {
  /** How often the process is looked at. */
  periodMs: number;
  /** Saturated: a look found the process using at least this share of one core since the previous look. */
  saturatedShare: number;
  /** Still saturated this long after the last saturated look (a storm's short gaps do not count as its end). */
  holdMs: number;
  /** Injected in tests: the process's CPU time so far (µs). */
  cpuMicros?: () => number;
  now?: () => number;
}

export const DEFAULT_CPU_LOAD: CpuLoadOptions = { periodMs: 100, saturatedShare: 0.5, holdMs: 1_000 };

/** Told after every look: the CPU (µs) the process used since the previous one, and when (epoch ms). */
export type LoadListener = (usedMicros: number, now: number) => void;

export class CpuLoad {
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly listeners = new Set<LoadListener>();
  private readonly cpuMicros: () => number;
  private readonly now: () => number;
  private cpuAtLastLook: number;
  private lastSaturatedAt = Number.NEGATIVE_INFINITY;

  constructor(readonly options: CpuLoadOptions = DEFAULT_CPU_LOAD) {
    this.cpuMicros = options.cpuMicros ?? processCpuMicros;
    this.now = options.now ?? Date.now;
    this.cpuAtLastLook = this.cpuMicros();
    this.timer = setInterval(() => this.look(), options.periodMs);
    // Looking never keeps a stopping process alive.
    this.timer.unref?.();
  }

  /** True while a look within the last holdMs found the process at or above saturatedShare of a core. */
  saturated(): boolean {
    return this.now() - this.lastSaturatedAt < this.options.holdMs;
  }

  onLook(listener: LoadListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  private look(): void {
    const now = this.now();
    const cpu = this.cpuMicros();
    const used = cpu - this.cpuAtLastLook;
    this.cpuAtLastLook = cpu;
    if (used >= this.options.saturatedShare * this.options.periodMs * 1000) this.lastSaturatedAt = now;
    for (const listener of this.listeners) listener(used, now);
  }
}
