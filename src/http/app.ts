// Mounts the route table. Everything route-specific comes from the families' tables: the handlers, and the 405 +
// Allow a known path answers for a method its routes do not list. No second list of paths exists.
// Two entry points share one dispatch: `fetch` (any request: the table walked in order, then 404/405) and
// `nativeRoutes` (the same table as Bun.serve `routes`, so Bun's router picks the route before any JavaScript runs).
// Hono used to sit here; its per-request context, middleware composition and router cost more than most handlers
// (16–20 µs server CPU per boot request against 7 µs for a bare Bun.serve in the boot-storm bench).
import type { BunRequest, Server } from "bun";
import type { Logger } from "../observability/log.ts";
import type { HttpDeps } from "./context.ts";
import { endpointFamilies } from "./families.ts";
import { observe, type RequestObserver } from "./middleware.ts";
import { allowedMethods, type CompiledRoute, compileFamilies, type EndpointFamily, type Method, textError } from "./routes.ts";

/** What the app needs from Bun.serve's server: the TCP peer (tests pass any object with requestIP()). */
export interface PeerLookup {
  requestIP(request: Request): { address: string } | null;
}

interface MountOptions {
  /** Runs after every request (metrics, failure log). */
  observers?: readonly RequestObserver[];
  log?: Pick<Logger, "error">;
}

type NativeHandler = (request: BunRequest, server: Server<undefined>) => Response | Promise<Response>;
/** Bun.serve `routes`: path pattern → method → handler. */
export type NativeRoutes = Record<string, Partial<Record<Method, NativeHandler>>>;

export interface BootApp {
  /** Any request: routed by the table (first route whose pattern and methods match), else 404 or 405 + Allow. */
  fetch(request: Request, peer?: PeerLookup): Response | Promise<Response>;
  /** For tests: a path (on http://localhost) or URL, like fetch. */
  request(input: string, init?: RequestInit, peer?: PeerLookup): Promise<Response>;
  /** The mounted table, one entry per route and method. */
  readonly routes: readonly { method: Method; path: string }[];
  /**
   * The table as Bun.serve `routes`. A request Bun's router hands over whose path is unusual (percent-encoded, no
   * usable Host, a wildcard Bun reads more loosely than the table) goes through `fetch`, so both entry points
   * answer every request the same.
   */
  nativeRoutes(fallback: (request: Request, server: Server<undefined>) => Response | Promise<Response>): NativeRoutes;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

export function createApp(deps: HttpDeps): BootApp {
  return mountFamilies(endpointFamilies(deps), { observers: [observe(deps)], log: deps.log });
}

/** The path as routed: the raw path, decoded as Hono (and the tests written for it) decoded it: %25 stays %25. */
function routedPath(rawPath: string): string {
  if (!rawPath.includes("%")) return rawPath;
  try {
    return decodeURI(rawPath.replace(/%25/g, "%2525"));
  } catch {
    return rawPath;
  }
}

function decodedParam(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Path and query start of a URL Bun built ("http://host/…"); a url without a host is routed under a placeholder. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf(":") + 3);
  if (start < 0) return "/";
  let end = start;
  while (end < url.length) {
    const code = url.charCodeAt(end);
    if (code === 63 || code === 35) break; // ? #
    end++;
  }
  return url.slice(start, end);
}

/** Values of the `:name` segments of a pattern in a path the pattern matches. */
function paramsOf(pattern: string, path: string): Record<string, string> {
  const params: Record<string, string> = {};
  const names = pattern.split("/");
  const values = path.split("/");
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    // ":name{regex}" (ONIE's names at /) is a parameter named "name".
    if (name?.startsWith(":")) params[name.slice(1).replace(/\{.*\}$/, "")] = decodedParam(values[i] ?? "");
  }
  return params;
}

export function mountFamilies(families: readonly EndpointFamily[], options: MountOptions = {}): BootApp {
  const routes = compileFamilies(families);
  const observers = options.observers ?? [];
  const literal = new Map<string, CompiledRoute[]>();
  for (const route of routes) {
    if (route.path.includes(":") || route.path.endsWith("*")) continue;
    literal.set(route.path, [...(literal.get(route.path) ?? []), route]);
  }
  const patterned = routes.filter((route) => route.path.includes(":") || route.path.endsWith("*"));

  const failed = (error: unknown, path: string): Response => {
    const problem = error instanceof Error ? error : new Error(String(error));
    options.log?.error("request failed", { path, error: problem.message, stack: problem.stack });
    return textError(500, `internal error: ${problem.message}`);
  };

  /**
   * Sync for a sync handler and observers (the boot routes): no promise per request on the hot path. `route`: the
   * table's entry; undefined for a request no route matched (observed as "unmatched").
   */
  const complete = (
    request: Request,
    path: string,
    route: CompiledRoute | undefined,
    clientAddress: string,
    started: number,
    answer: Response,
  ): Response | Promise<Response> => {
    // HEAD is GET without the body, with GET's headers (Bun.serve would drop the body too; tests see it here).
    const response = request.method === "HEAD" && answer.body !== null ? new Response(null, answer) : answer;
    const seconds = (performance.now() - started) / 1000;
    const routeName = route?.path ?? "unmatched";
    const download = route?.download === true;
    let pending: Promise<void> | undefined;
    for (const observer of observers) {
      const observed = pending
        ? pending.then(() => observer(request, path, routeName, clientAddress, response, seconds, download))
        : observer(request, path, routeName, clientAddress, response, seconds, download);
      if (observed) pending = observed;
    }
    return pending ? pending.then(() => response) : response;
  };

  const finish = (
    request: Request,
    path: string,
    route: CompiledRoute | undefined,
    clientAddress: string,
    started: number,
    answer: Response | Promise<Response>,
  ): Response | Promise<Response> => {
    if (!(answer instanceof Promise)) return complete(request, path, route, clientAddress, started, answer);
    return answer.then(
      (response) => complete(request, path, route, clientAddress, started, response),
      (error: unknown) => complete(request, path, route, clientAddress, started, failed(error, path)),
    );
  };

  const run = (
    request: Request,
    path: string,
    route: CompiledRoute,
    params: Readonly<Record<string, string>>,
    clientAddress: string,
  ): Response | Promise<Response> => {
    const started = performance.now();
    let answer: Response | Promise<Response>;
    try {
      answer = route.handler(request, { params, clientAddress });
    } catch (error) {
      answer = failed(error, path);
    }
    return finish(request, path, route, clientAddress, started, answer);
  };

  const peerAddress = (request: Request, peer: PeerLookup | undefined): string => {
    try {
      return peer?.requestIP(request)?.address ?? "";
    } catch {
      return "";
    }
  };

  const fetch = (request: Request, peer?: PeerLookup): Response | Promise<Response> => {
    const path = routedPath(pathOf(request.url));
    const method = request.method;
    const clientAddress = peerAddress(request, peer);
    const candidates = literal.get(path);
    if (candidates) {
      for (const route of candidates) if (route.methods.includes(method as Method)) return run(request, path, route, NO_PARAMS, clientAddress);
    }
    for (const route of patterned) {
      if (route.methods.includes(method as Method) && route.matcher.test(path)) return run(request, path, route, paramsOf(route.path, path), clientAddress);
    }
    const allowed = allowedMethods(routes, path);
    if (allowed.length === 0) return finish(request, path, undefined, clientAddress, performance.now(), textError(404, `no such endpoint: ${path}`));
    const allow = allowed.join(", ");
    return finish(
      request,
      path,
      undefined,
      clientAddress,
      performance.now(),
      textError(405, `method ${method} is not allowed on ${path} (allowed: ${allow})`, { Allow: allow }),
    );
  };

  return {
    fetch,
    request: async (input, init, peer) =>
      fetch(new Request(/^https?:\/\//.test(input) ? input : `http://localhost${input.startsWith("/") ? "" : "/"}${input}`, init), peer),
    routes: routes.flatMap((route) => route.methods.map((method) => ({ method, path: route.path }))),
    nativeRoutes(fallback) {
      const native: NativeRoutes = {};
      for (const route of routes) {
        // Bun's router has no regex segments: such routes stay on the fetch path, which checks the table's matcher.
        if (route.path.includes("{")) continue;
        const hasParams = route.path.includes(":");
        const checked = hasParams || route.path.endsWith("*");
        const handler: NativeHandler = (request, server) => {
          const url = request.url;
          // Percent-encoded paths and Host-less requests take the general path, which routes them like any other.
          if (url.startsWith("/") || url.includes("%")) return fallback(request, server);
          const path = pathOf(url);
          if (checked && !route.matcher.test(path)) return fallback(request, server);
          return run(request, path, route, hasParams ? request.params : NO_PARAMS, server.requestIP(request)?.address ?? "");
        };
        const forPath = native[route.path] ?? {};
        native[route.path] = forPath;
        for (const method of route.methods) forPath[method] ??= handler;
      }
      return native;
    },
  };
}
