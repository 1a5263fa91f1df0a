// Polling for conditions that become true asynchronously (watch propagation, status writes, garbage collection).

/**
 * Calls `check` until it returns a truthy value (returned) or `timeoutMs` passes (throws, naming `what` and the last
 * error `check` threw). Errors from `check` count as "not yet".
 */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await Bun.sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`);
}
