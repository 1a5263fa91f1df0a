// Liveness, readiness and Prometheus metrics.
import { Hono } from "hono";
import type { AppEnv, HttpDeps } from "./context.ts";

export function healthRoutes(deps: HttpDeps, extraReadiness: () => string | null = () => null): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/healthz", (c) => c.text("ok\n"));
  app.get("/readyz", (c) => {
    if (!deps.store.ready) return c.text("not ready: resources not loaded yet\n", 503);
    const notReady = extraReadiness();
    if (notReady) return c.text(`not ready: ${notReady}\n`, 503);
    return c.text("ok\n");
  });
  app.get("/metrics", (c) => c.body(deps.metrics.registry.render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }));
  return app;
}
