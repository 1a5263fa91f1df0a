// Cross-cutting request handling: client address, metrics, one debug log line per request.
import type { MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/bun";
import { PerKeyThrottle } from "../observability/log-throttle.ts";
import type { AppEnv, HttpDeps } from "./context.ts";
import { failureReason, isBootRoute, reasonLine } from "./failures.ts";

/** A machine that loops on a failing boot logs once per this interval per client and route. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * The TCP peer, from the server Bun.serve passes to fetch (in tests: anything with requestIP(), passed as the env
 * of app.request). Proxy headers are interpreted per route (only /httpboot and /ipxe need the booting machine).
 */
export function clientAddress(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let address = "";
    try {
      address = getConnInfo(c).remote.address ?? "";
    } catch {
      // Requests made with app.request() in unit tests have no socket.
    }
    c.set("clientAddress", address);
    await next();
  };
}

export function observe(deps: Pick<HttpDeps, "metrics" | "log">): MiddlewareHandler<AppEnv> {
  const { metrics, log } = deps;
  const failureThrottle = new PerKeyThrottle(FAILURE_LOG_INTERVAL_MS);
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const matched = c.req.routePath;
    const route = matched === "/*" || matched === "*" ? "unmatched" : matched;
    const status = c.res.status;
    metrics.httpRequests.inc({ route, method: c.req.method, status: String(status) });
    metrics.httpDuration.observe({ route }, seconds);
    const length = Number(c.res.headers.get("content-length") ?? 0);
    if (length > 0 && c.req.method !== "HEAD") metrics.httpResponseBytes.inc({ route }, length);
    // At info, so the day a machine does not boot the default log says why; error bodies are one short line.
    if ((status < 200 || status >= 300) && status !== 304 && isBootRoute(route === "unmatched" ? c.req.path : route)) {
      const body = c.req.method === "HEAD" ? "" : await c.res.clone().text();
      const reason = failureReason(status, body);
      metrics.bootRequestsFailed.inc({ route, reason });
      const client = c.get("clientAddress");
      // A looping machine repeats one key; machines behind one address (a DHCP server, NAT) differ in path or XFF.
      const decision = failureThrottle.allow(`${client} ${c.req.path} ${c.req.header("x-forwarded-for") ?? ""}`, Date.now());
      if (decision.allowed) {
        const url = new URL(c.req.url);
        log.info("boot request failed", {
          method: c.req.method,
          path: c.req.path,
          route,
          status,
          reason,
          message: reasonLine(body),
          client,
          ...(url.searchParams.get("mac") ? { mac: url.searchParams.get("mac") } : {}),
          ...(c.req.header("x-forwarded-for") ? { forwardedFor: c.req.header("x-forwarded-for")?.slice(0, 200) } : {}),
          ...(decision.suppressed > 0 ? { suppressedSinceLastLine: decision.suppressed } : {}),
        });
      }
    }
    if (log.enabled("debug")) {
      log.debug("request", {
        method: c.req.method,
        path: c.req.path,
        route,
        status,
        client: c.get("clientAddress"),
        durationMs: Math.round(seconds * 1e6) / 1000,
        bytes: length,
      });
    }
  };
}
