// Bun.serve around the app, with the limits a boot server on an untrusted segment needs. The boot listener mounts
// the route table on Bun's native router (`routes`), everything else goes through the app's fetch. Besides the boot
// listener there may be side listeners (health probes, metrics, image proxy: the Go operator's separate ports); they
// serve the same app, limited to their paths, so every endpoint behaves the same on every port.
import type { Server } from "bun";
import type { Logger } from "../observability/log.ts";
import type { BootApp, NativeRoutes } from "./app.ts";

export interface ListenAddress {
  hostname: string;
  port: number;
}

/** ":8082", "0.0.0.0:8082", "[::]:8082", "127.0.0.1:0" → host and port. */
export function parseListenAddress(text: string): ListenAddress | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) return null;
  const port = Number(match[3]);
  if (port > 65535) return null;
  const hostname = match[1] ?? (match[2] === "" || match[2] === undefined ? "0.0.0.0" : match[2]);
  return { hostname, port };
}

export interface RunningServer {
  server: Server<undefined>;
  url: string;
  /** Stops accepting; in-flight requests (downloads) get up to `graceMs` to finish, then are cut. */
  shutdown(graceMs: number): Promise<void>;
}

/**
 * Whether `path` is one of `patterns`, written as routes are ("/metrics", "/debug/machines/:uuid"): a ":name"
 * segment stands for any one non-empty segment. For the paths a listener keeps to itself.
 */
export function matchesPathPattern(path: string, patterns: readonly string[]): boolean {
  const segments = path.split("/");
  return patterns.some((pattern) => {
    const expected = pattern.split("/");
    return (
      expected.length === segments.length && expected.every((part, index) => (part.startsWith(":") ? (segments[index] ?? "") !== "" : part === segments[index]))
    );
  });
}

export function sameListenAddress(a: ListenAddress, b: ListenAddress): boolean {
  // Port 0 is a new ephemeral port each time, never the same listener.
  return a.port !== 0 && a.port === b.port && a.hostname === b.hostname;
}

interface SideListenerRequest {
  /** For logs: "health probes", "metrics", … */
  name: string;
  address: ListenAddress | undefined;
  /** Paths this listener answers; others get a 404. */
  allow: (path: string) => boolean;
  tls?: TlsFiles;
}

export interface TlsFiles {
  cert: string;
  key: string;
}

interface SideListenerPlan {
  names: string[];
  address: ListenAddress;
  allow: (path: string) => boolean;
  tls?: TlsFiles;
}

type SideListenerPlanResult = { ok: true; listeners: SideListenerPlan[]; onMain: string[] } | { ok: false; reason: string };

/**
 * Which extra servers to start: none for a side listener on the boot listener's own address (the boot listener
 * serves everything already: `onMain`), one per distinct address otherwise, shared by requests on the same address.
 */
export function planSideListeners(main: ListenAddress | undefined, requests: readonly SideListenerRequest[]): SideListenerPlanResult {
  const listeners: SideListenerPlan[] = [];
  const onMain: string[] = [];
  for (const request of requests) {
    const address = request.address;
    if (!address) continue;
    if (main && sameListenAddress(address, main)) {
      if (request.tls) return { ok: false, reason: `${request.name} would share the boot listener ${formatListenAddress(main)}, which is plain HTTP` };
      onMain.push(request.name);
      continue;
    }
    const shared = listeners.find((listener) => sameListenAddress(listener.address, address));
    if (!shared) {
      listeners.push({ names: [request.name], address, allow: request.allow, ...(request.tls ? { tls: request.tls } : {}) });
      continue;
    }
    if (Boolean(shared.tls) !== Boolean(request.tls)) {
      return { ok: false, reason: `${request.name} and ${shared.names.join(", ")} share ${formatListenAddress(address)} but only one of them uses TLS` };
    }
    const before = shared.allow;
    shared.allow = (path) => before(path) || request.allow(path);
    shared.names.push(request.name);
  }
  return { ok: true, listeners, onMain };
}

export function formatListenAddress(address: ListenAddress): string {
  return `${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`;
}

interface HttpServerOptions {
  idleTimeoutSeconds: number;
  /** Limit the listener to these paths (side listeners). */
  allow?: (path: string) => boolean;
  tls?: TlsFiles;
  /** SO_REUSEPORT, so a listener with a new certificate can bind the same port before the old one closes. */
  reusePort?: boolean;
}

/** Boot clients send tiny GETs; nothing here accepts a body. */
const MAX_REQUEST_BODY_BYTES = 64 * 1024;

/**
 * A declared body over the limit is refused before it is read, and the connection closed: Bun answers a GET first
 * and then waits for the announced bytes, so clients trickling a huge body held their sockets until idle-timeout
 * (2 000 of them exhausted a 1024 file-descriptor limit).
 */
function oversizedBody(headers: Headers): Response | null {
  const declared = headers.get("content-length");
  if (declared === null) return null;
  const length = Number(declared.trim());
  if (Number.isSafeInteger(length) && length >= 0 && length <= MAX_REQUEST_BODY_BYTES) return null;
  return new Response(`request body too large (Content-Length ${declared.slice(0, 30)}, limit ${MAX_REQUEST_BODY_BYTES} bytes)\n`, {
    status: 413,
    headers: { "Content-Type": "text/plain; charset=utf-8", Connection: "close" },
  });
}

/**
 * Bun builds request.url from the Host header; without a usable one (HTTP/1.0 without Host, empty, "evil/x@y") the
 * url is only the path, which Hono then misroutes (even /healthz was a 404). Such requests are routed by path under
 * a placeholder origin; their Host header stays as sent, and publicUrlFor refuses to render URLs from it.
 */
const PLACEHOLDER_ORIGIN = "http://no-usable-host.invalid";

type BunServer = Server<undefined>;

function routable(request: Request, bunServer: BunServer): { request: Request; env: { requestIP(request: Request): { address: string } | null } } {
  if (!request.url.startsWith("/")) return { request, env: bunServer };
  // The rebuilt request is not the one Bun knows, so the peer address is looked up on the original.
  return { request: new Request(`${PLACEHOLDER_ORIGIN}${request.url}`, request), env: { requestIP: () => bunServer.requestIP(request) } };
}

const NOT_ON_THIS_PORT = (path: string): Response =>
  new Response(`no such endpoint on this port: ${path.replace(/[\r\n]+/g, " ")}\n`, { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" } });

/** Every native route refuses an oversized body first, as the fetch path does. */
function guarded(routes: NativeRoutes): NativeRoutes {
  const out: NativeRoutes = {};
  for (const [path, methods] of Object.entries(routes)) {
    const forPath: NativeRoutes[string] = {};
    for (const [method, handler] of Object.entries(methods)) {
      forPath[method as keyof typeof forPath] = (request, server) => oversizedBody(request.headers) ?? handler(request, server);
    }
    out[path] = forPath;
  }
  return out;
}

/**
 * The native routes whose pattern the listener allows. The allow predicates (exact paths, "/debug/…" prefixes,
 * ":name" segments) judge a pattern as they judge any path it matches.
 */
function allowedRoutes(routes: NativeRoutes, allow: ((path: string) => boolean) | undefined): NativeRoutes {
  if (!allow) return routes;
  return Object.fromEntries(Object.entries(routes).filter(([path]) => allow(path)));
}

export function startHttpServer(app: BootApp, listen: ListenAddress, log: Logger, options: HttpServerOptions): RunningServer {
  const allow = options.allow;
  const fetch = (received: Request, bunServer: BunServer): Response | Promise<Response> => {
    const refused = oversizedBody(received.headers);
    if (refused) return refused;
    const { request, env } = routable(received, bunServer);
    if (allow) {
      const path = new URL(request.url).pathname;
      if (!allow(path)) return NOT_ON_THIS_PORT(path);
    }
    return app.fetch(request, env);
  };
  // A listener limited to some paths mounts only those natively; every other path reaches fetch, which refuses it.
  const routes = guarded(allowedRoutes(app.nativeRoutes(fetch), allow));
  const server = Bun.serve({
    hostname: listen.hostname,
    port: listen.port,
    maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
    // Closes connections idle for this long (slowloris, abandoned downloads); active transfers are not idle.
    idleTimeout: options.idleTimeoutSeconds,
    ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
    ...(options.reusePort ? { reusePort: true } : {}),
    routes,
    fetch,
    error: (error) => {
      log.error("unhandled server error", { error: error.message });
      return new Response("internal error\n", { status: 500, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    },
  });
  const url = `${options.tls ? "https" : "http"}://${listen.hostname.includes(":") ? `[${listen.hostname}]` : listen.hostname}:${server.port}`;
  return {
    server,
    url,
    async shutdown(graceMs: number) {
      const graceful = server.stop(false);
      const timedOut = await Promise.race([graceful.then(() => false), Bun.sleep(graceMs).then(() => true)]);
      if (timedOut) {
        log.warn("shutdown grace period over; closing remaining connections", { graceMs });
        await server.stop(true);
      }
    },
  };
}

export interface RotatingTlsServer extends RunningServer {
  /**
   * Serves `tls` to new connections from now on; connections already open finish on the old certificate. Throws
   * (and keeps serving the old one) when Bun refuses the new pair.
   */
  rotate(tls: TlsFiles): void;
}

/**
 * The HTTPS listener, whose certificate can change while it runs. Bun's server.reload() ignores `tls` (measured on
 * Bun 1.4.5; oven-sh/bun#43815), so a rotation binds a second listener to the same port with SO_REUSEPORT and the
 * new certificate, then stops the old one gracefully: its open connections (keep-alive included) are served to the
 * end, new ones go to the new listener. Connections the kernel had queued on the old socket but Bun had not yet
 * accepted at the moment it closes are reset unless net.ipv4.tcp_migrate_req=1 hands them to the new one (README).
 */
export function startRotatingTlsServer(app: BootApp, listen: ListenAddress, log: Logger, options: HttpServerOptions & { tls: TlsFiles }): RotatingTlsServer {
  let current = startHttpServer(app, listen, log, { ...options, reusePort: true });
  // A port of 0 becomes a real one at the first bind; every later listener takes that one.
  const bound: ListenAddress = { hostname: listen.hostname, port: current.server.port ?? listen.port };
  const draining = new Set<RunningServer>();
  return {
    get server() {
      return current.server;
    },
    url: current.url,
    rotate(tls: TlsFiles) {
      const next = startHttpServer(app, bound, log, { ...options, tls, reusePort: true });
      const previous = current;
      current = next;
      draining.add(previous);
      void previous.server.stop(false).finally(() => draining.delete(previous));
    },
    async shutdown(graceMs: number) {
      await Promise.all([current, ...draining].map((running) => running.shutdown(graceMs)));
    },
  };
}
