// Retry timing, pure: one exponential backoff with a cap and jitter for everything that retries against the API
// server (the reflector's re-LIST/re-WATCH, the work queue's rate-limited requeues), so they all behave alike.

export interface BackoffOptions {
  /** Delay of the first retry (attempt 0), ms. */
  base: number;
  /** Upper bound, ms. */
  cap: number;
  /**
   * 0…1: how much of the span between `base` and the exponential ceiling is randomised. 0: always the ceiling
   * (client-go's per-item limiter); 1: "full jitter", uniform in [base, ceiling] (spreads a herd of clients that
   * all failed at the same moment).
   */
  jitter: number;
}

/** Delay before retry number `attempt` (0-based): ceiling = min(cap, base·2^attempt), minus up to jitter·(ceiling − base). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const { base, cap } = options;
  const jitter = Math.min(1, Math.max(0, options.jitter));
  // 2^30 already exceeds any sensible cap; clamping the exponent keeps the arithmetic finite.
  const ceiling = Math.max(base, Math.min(cap, base * 2 ** Math.min(Math.max(0, attempt), 30)));
  return Math.round(ceiling - jitter * (1 - random()) * (ceiling - base));
}
