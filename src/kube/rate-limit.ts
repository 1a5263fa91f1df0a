// A token bucket for requests to the API server, as client-go's (flowcontrol.NewTokenBucketRateLimiter): `qps`
// tokens a second, at most `burst` saved up. Start-up over 10 000 fresh objects writes 20 000 statuses; unbounded,
// that is as fast as the API server answers, which on a shared control plane is everyone else's latency. The
// refill arithmetic is pure (the caller passes the clock); `take` waits on timers.

export interface TokenBucketOptions {
  qps: number;
  burst: number;
}

export class TokenBucket {
  /** Below zero: tokens already promised to callers that are still waiting for them. */
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly options: TokenBucketOptions,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => Bun.sleep(ms),
  ) {
    this.tokens = options.burst;
    this.updatedAt = now();
  }

  /** Reserves one token; how long the request made now must wait for it (0: at once). Callers go in order. */
  reserve(): number {
    const now = this.now();
    const perMs = this.options.qps / 1000;
    this.tokens = Math.min(this.options.burst, this.tokens + (now - this.updatedAt) * perMs);
    this.updatedAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : -this.tokens / perMs;
  }

  async take(): Promise<void> {
    const waitMs = this.reserve();
    if (waitMs > 0) await this.sleep(waitMs);
  }
}
