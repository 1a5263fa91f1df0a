// Composes the route modules into one Hono app. Each endpoint family lives in its own module with its own tests.
import { type Context, Hono } from "hono";
import { type AppEnv, type HttpDeps, textError } from "./context.ts";
import { healthRoutes } from "./health.ts";
import { httpBootRoutes } from "./httpboot.ts";
import { ignitionRoutes } from "./ignition.ts";
import { ipxeRoutes } from "./ipxe.ts";
import { clientAddress, observe } from "./middleware.ts";
import { ukiRoutes } from "./uki.ts";

/** Known paths and their methods, so a wrong method is a 405 with Allow rather than a 404. */
const KNOWN_PATHS: { pattern: RegExp; allow: string }[] = [
  { pattern: /^\/ipxe(\/[^/]*)?$/, allow: "GET, HEAD" },
  { pattern: /^\/ignition\/[^/]+$/, allow: "GET, HEAD" },
  { pattern: /^\/httpboot(\/.+)?$/, allow: "GET, HEAD" },
  { pattern: /^\/image$/, allow: "GET, HEAD" },
  { pattern: /^\/uki\/.+$/, allow: "GET, HEAD" },
  { pattern: /^\/(healthz|readyz|metrics)$/, allow: "GET, HEAD" },
];

export interface AppOptions {
  /** More routes (image proxy, …) mounted after the built-in ones. */
  extraRoutes?: Hono<AppEnv>[];
  /** Extra readiness condition (e.g. Kubernetes caches synced); returns the reason when not ready. */
  readiness?: () => string | null;
}

export function createApp(deps: HttpDeps, options: AppOptions = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", clientAddress());
  app.use("*", observe(deps));
  app.route("/", ipxeRoutes(deps));
  app.route("/", ignitionRoutes(deps));
  app.route("/", httpBootRoutes(deps));
  app.route("/", ukiRoutes(deps));
  app.route("/", healthRoutes(deps, options.readiness));
  for (const routes of options.extraRoutes ?? []) app.route("/", routes);
  app.notFound((c: Context<AppEnv>) => {
    const known = KNOWN_PATHS.find((entry) => entry.pattern.test(c.req.path));
    if (known) {
      c.header("Allow", known.allow);
      return textError(c, 405, `method ${c.req.method} is not allowed on ${c.req.path} (allowed: ${known.allow})`);
    }
    return textError(c, 404, `no such endpoint: ${c.req.path}`);
  });
  app.onError((error, c) => {
    deps.log.error("request failed", { path: c.req.path, error: error.message, stack: error.stack });
    return textError(c, 500, `internal error: ${error.message}`);
  });
  return app;
}
