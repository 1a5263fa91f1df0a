// Cross-cutting request handling, run after every answer: metrics, the failed-boot info line, one debug line per
// request. The success path is a few counter increments on series bound once per route, method and status.
import { PerKeyThrottle } from "../observability/log-throttle.ts";
import type { HttpDeps } from "./context.ts";
import { failureReason, isBootRoute, reasonLine } from "./failures.ts";

/** A machine that loops on a failing boot logs once per this interval per client and route. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/** Sees each request once it is answered; a returned promise is awaited before the answer goes out. */
export type RequestObserver = (
  request: Request,
  path: string,
  route: string,
  clientAddress: string,
  response: Response,
  seconds: number,
  /** The route is a download (its answers declare Content-Length; see Route.download). */
  download: boolean,
) => void | Promise<void>;

/** Memoised per key: series handles bound once per route, method and status (bounded by the table's routes). */
function memo<T>(make: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let found = cache.get(key);
    if (found === undefined) {
      found = make(key);
      cache.set(key, found);
    }
    return found;
  };
}

export function observe(deps: Pick<HttpDeps, "metrics" | "log">): RequestObserver {
  const { metrics, log } = deps;
  const failureThrottle = new PerKeyThrottle(FAILURE_LOG_INTERVAL_MS);
  // route → "METHOD status" → series: the route strings come from the table, so only the short key is hashed anew.
  const requestsByRoute = memo((route) =>
    memo((key) => {
      const [method = "", status = ""] = key.split(" ");
      return metrics.httpRequests.bind({ route, method, status });
    }),
  );
  const durations = memo((route) => metrics.httpDuration.bind({ route }));
  const bytes = memo((route) => metrics.httpResponseBytes.bind({ route }));
  return (request, path, route, client, response, seconds, download) => {
    const status = response.status;
    const method = request.method;
    requestsByRoute(route)(status === 200 ? (method === "GET" ? "GET 200" : `${method} 200`) : `${method} ${status}`).inc();
    durations(route).observe(seconds);
    const debug = log.enabled("debug");
    const length = download || debug ? Number(response.headers.get("content-length") ?? 0) : 0;
    if (download && length > 0 && method !== "HEAD") bytes(route).inc(length);
    if ((status < 200 || status >= 300) && status !== 304 && isBootRoute(route === "unmatched" ? path : route)) {
      return failedBoot(request, path, route, client, response, seconds);
    }
    if (debug) log.debug("request", { method, path, route, status, client, durationMs: Math.round(seconds * 1e6) / 1000, bytes: length });
  };

  async function failedBoot(request: Request, path: string, route: string, client: string, response: Response, seconds: number): Promise<void> {
    // At info, so the day a machine does not boot the default log says why; error bodies are one short line.
    const body = request.method === "HEAD" ? "" : await response.clone().text();
    const reason = failureReason(response.status, body);
    metrics.bootRequestsFailed.inc({ route, reason });
    const forwardedFor = request.headers.get("x-forwarded-for");
    // A looping machine repeats one key; machines behind one address (a DHCP server, NAT) differ in path or XFF.
    const decision = failureThrottle.allow(`${client} ${path} ${forwardedFor ?? ""}`, Date.now());
    if (decision.allowed) {
      const mac = new URL(request.url, "http://placeholder.invalid").searchParams.get("mac");
      log.info("boot request failed", {
        method: request.method,
        path,
        route,
        status: response.status,
        reason,
        message: reasonLine(body),
        client,
        ...(mac ? { mac } : {}),
        ...(forwardedFor ? { forwardedFor: forwardedFor.slice(0, 200) } : {}),
        ...(decision.suppressed > 0 ? { suppressedSinceLastLine: decision.suppressed } : {}),
      });
    }
    if (log.enabled("debug")) {
      log.debug("request", {
        method: request.method,
        path,
        route,
        status: response.status,
        client,
        durationMs: Math.round(seconds * 1e6) / 1000,
        bytes: Number(response.headers.get("content-length") ?? 0),
      });
    }
  }
}
