// The one way tests and scripts wait for something that becomes true asynchronously (a process listening, watch
// propagation, status writes, garbage collection): poll a condition instead of sleeping a guessed time.

export interface EventuallyOptions {
  /** Give up after this long (default 15 s). */
  timeoutMs?: number;
  /** Pause between tries (default 100 ms). */
  intervalMs?: number;
  /** Checked before every try: a reason to stop waiting at once (e.g. the process that should answer exited). */
  abortIf?: () => string | undefined;
  /** Current state to quote in the timeout message (e.g. the object's status), when the last error does not say it. */
  detail?: () => unknown;
}

/**
 * Calls `check` until it returns a truthy value (returned) or the timeout passes (throws, naming `what`, the last
 * error `check` threw and `detail()`). Errors from `check` count as "not yet"; `check` runs at least once.
 * A number as `options` is the timeout in milliseconds.
 */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, what: string, options: number | EventuallyOptions = {}): Promise<T> {
  const { timeoutMs = 15_000, intervalMs = 100, abortIf, detail } = typeof options === "number" ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const abortReason = abortIf?.();
    if (abortReason) throw new Error(`stopped waiting for: ${what}: ${abortReason}`);
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await Bun.sleep(Math.max(0, Math.min(intervalMs, deadline - Date.now())));
  }
  let message = `timed out after ${timeoutMs} ms waiting for: ${what}`;
  if (lastError) message += ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
  if (detail) message += `; state: ${await describe(detail)}`;
  throw new Error(message, { cause: lastError });
}

/** For a check: true when `done`, else throws `detail`, so a timeout message says what was seen last. */
export function notYetUnless(done: boolean, detail: string): true {
  if (!done) throw new Error(detail);
  return true;
}

async function describe(detail: () => unknown): Promise<string> {
  try {
    const value = await detail();
    return typeof value === "string" ? value : JSON.stringify(value);
  } catch (error) {
    return `(unavailable: ${String(error)})`;
  }
}
