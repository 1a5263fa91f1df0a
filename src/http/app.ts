// Mounts the route table on Hono. Everything route-specific comes from the families' tables: the handlers, and the
// 405 + Allow a known path answers for a method its routes do not list. No second list of paths exists.
import { Hono, type MiddlewareHandler } from "hono";
import type { Logger } from "../observability/log.ts";
import type { AppEnv, HttpDeps } from "./context.ts";
import { endpointFamilies } from "./families.ts";
import { clientAddress, observe } from "./middleware.ts";
import { allowedMethods, type CompiledRoute, compileFamilies, type EndpointFamily, textError } from "./routes.ts";

interface MountOptions {
  /** Runs around every request (metrics, request log). */
  middleware?: readonly MiddlewareHandler<AppEnv>[];
  log?: Pick<Logger, "error">;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

export function createApp(deps: HttpDeps): Hono<AppEnv> {
  return mountFamilies(endpointFamilies(deps), { middleware: [observe(deps)], log: deps.log });
}

/**
 * Hono routes HEAD as GET and lets "/x/*" match "/x" itself; the wrapper holds each route to exactly what its table
 * entry says (methods, pattern) and otherwise passes the request on, so a path's answer never depends on the order
 * families are listed in, and anything the table does not allow ends in the 404/405 below.
 */
function mountRoute(app: Hono<AppEnv>, route: CompiledRoute): void {
  const honoMethods = route.methods.includes("HEAD") && !route.methods.includes("GET") ? [...route.methods, "GET"] : [...route.methods];
  const methods: readonly string[] = route.methods;
  // Wildcards and `:name{regex}` segments are checked against our own matcher too, whatever Hono's reading of them.
  const wildcard = route.path.endsWith("*") || route.path.includes("{");
  const hasParams = route.path.includes(":");
  app.on(honoMethods, route.path, (c, next) => {
    if (!methods.includes(c.req.raw.method) || (wildcard && !route.matcher.test(c.req.path))) return next();
    return route.handler(c.req.raw, { params: hasParams ? c.req.param() : NO_PARAMS, clientAddress: c.get("clientAddress") });
  });
}

export function mountFamilies(families: readonly EndpointFamily[], options: MountOptions = {}): Hono<AppEnv> {
  const routes = compileFamilies(families);
  const app = new Hono<AppEnv>();
  app.use("*", clientAddress());
  for (const middleware of options.middleware ?? []) app.use("*", middleware);
  for (const route of routes) mountRoute(app, route);
  app.notFound((c) => {
    const allowed = allowedMethods(routes, c.req.path);
    if (allowed.length === 0) return textError(404, `no such endpoint: ${c.req.path}`);
    const allow = allowed.join(", ");
    return textError(405, `method ${c.req.method} is not allowed on ${c.req.path} (allowed: ${allow})`, { Allow: allow });
  });
  app.onError((error, c) => {
    options.log?.error("request failed", { path: c.req.path, error: error.message, stack: error.stack });
    return textError(500, `internal error: ${error.message}`);
  });
  return app;
}
