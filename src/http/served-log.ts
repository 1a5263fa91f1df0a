// How the boot routes log what they served: the first time a config goes to a client at info, repeats at debug,
// and one summary line per route every SUMMARY_INTERVAL_MS (SuccessLog). Failures a client repeats on every
// request are throttled per client (PerKeyThrottle), with the number swallowed on the next line.

import type { LogFields, Logger } from "../observability/log.ts";
import { PerKeyThrottle } from "../observability/log-throttle.ts";
import { SuccessLog } from "../observability/success-log.ts";

const SUMMARY_INTERVAL_MS = 10_000;
const FAILURE_INTERVAL_MS = 10_000;

interface ServedLog {
  /**
   * `fields` is called only when the line is written (first for a client, or at debug): most requests write none.
   * A remembered answer passes them as an object made once: a closure per answer held what built them alive.
   */
  success(msg: string, route: string, config: string, client: string, fields: LogFields | (() => LogFields)): void;
  failure(msg: string, client: string, fields: LogFields): void;
}

// One per logger, so separate apps in one process (tests) do not share counts.
const servedLogs = new WeakMap<Logger, ServedLog>();

export function servedLogFor(log: Logger): ServedLog {
  const existing = servedLogs.get(log);
  if (existing) return existing;
  const successes = new SuccessLog(Date.now());
  const failures = new PerKeyThrottle(FAILURE_INTERVAL_MS);
  let timer: ReturnType<typeof setInterval> | undefined;
  const flush = (): void => {
    for (const summary of successes.drain(Date.now())) log.info("served (summary)", { ...summary });
  };
  const created: ServedLog = {
    success(msg, route, config, client, fields) {
      if (!timer) {
        timer = setInterval(flush, SUMMARY_INTERVAL_MS);
        // The summary must not keep a stopping process alive.
        timer.unref();
      }
      const first = successes.record(route, config, client);
      if (first) log.info(msg, { ...(typeof fields === "function" ? fields() : fields), firstForClient: true });
      else if (log.enabled("debug")) log.debug(msg, typeof fields === "function" ? fields() : fields);
    },
    failure(msg, client, fields) {
      const decision = failures.allow(`${client}\u0000${msg}`, Date.now());
      if (decision.allowed) log.warn(msg, { ...fields, client, suppressedSinceLastLine: decision.suppressed });
      else if (log.enabled("debug")) log.debug(msg, { ...fields, client });
    },
  };
  servedLogs.set(log, created);
  return created;
}
