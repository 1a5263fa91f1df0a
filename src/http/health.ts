// Liveness, readiness and Prometheus metrics.
import type { HttpDeps } from "./context.ts";
import type { EndpointFamily } from "./routes.ts";

/** The headers Hono's c.text() set for a non-200 text answer, kept so probes see exactly what they always did. */
const TEXT_HEADERS = { "Content-Type": "text/plain; charset=UTF-8" };
const METRICS_HEADERS = { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" };

export function healthFamily(deps: Pick<HttpDeps, "store" | "metrics" | "readiness">): EndpointFamily {
  return {
    name: "health",
    routes: [
      { path: "/healthz", methods: ["GET", "HEAD"], handler: () => new Response("ok\n") },
      {
        path: "/readyz",
        methods: ["GET", "HEAD"],
        handler: () => {
          if (!deps.store.ready) return new Response("not ready: resources not loaded yet\n", { status: 503, headers: TEXT_HEADERS });
          const notReady = deps.readiness?.();
          if (notReady) return new Response(`not ready: ${notReady}\n`, { status: 503, headers: TEXT_HEADERS });
          return new Response("ok\n");
        },
      },
      { path: "/metrics", methods: ["GET", "HEAD"], handler: () => new Response(deps.metrics.registry.render(), { headers: METRICS_HEADERS }) },
    ],
  };
}
