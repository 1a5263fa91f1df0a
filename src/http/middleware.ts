// Cross-cutting request handling: client address, metrics, one debug log line per request.
import type { MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/bun";
import type { AppEnv, HttpDeps } from "./context.ts";

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
