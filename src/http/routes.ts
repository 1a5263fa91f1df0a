// The route table: every endpoint family declares its routes once, as plain data (path pattern, methods, handler),
// and everything else — mounting, 405 with Allow, the tests that walk the table — is derived from it. Handlers take
// a web-standard Request and return a Response, so the same table could be mounted on Bun.serve({ routes }) instead
// of Hono without touching the families.

/** Methods a route may list. GET routes list HEAD too (HTTP requires it; the route-table test checks it). */
export const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] as const;
export type Method = (typeof METHODS)[number];

export interface RouteContext {
  /** Path parameters (`:name` segments), percent-decoded. */
  params: Readonly<Record<string, string>>;
  /** The TCP peer; proxy headers are interpreted per route (only /httpboot and /ipxe need the booting machine). */
  clientAddress: string;
}

type RouteHandler = (request: Request, context: RouteContext) => Response | Promise<Response>;

interface Route {
  /**
   * Literal segments, `:name` for one non-empty segment, and a final `*` for one or more characters below the
   * prefix (`/uki/*` matches `/uki/a/b`, not `/uki` or `/uki/`). The subset Hono and Bun.serve both understand,
   * plus `:name{regex}` (one segment matching the regex, no `/` in it; Hono's syntax) for names only known by their
   * shape, such as ONIE's installer names at the root.
   */
  path: string;
  /** A path the route answers, for the route-table test; needed only when `path` has a `:name{regex}` segment. */
  samplePath?: string;
  methods: readonly Method[];
  handler: RouteHandler;
  /**
   * Files and blobs, whose answers declare Content-Length: the request observer counts their bytes
   * (boot_operator_http_response_bytes_total). Generated answers (scripts, Ignition) declare none, and reading a
   * Response's headers only to find that out cost ~1.3 µs per boot request.
   */
  download?: boolean;
}

export interface EndpointFamily {
  name: string;
  routes: readonly Route[];
}

/** A route pattern as a matcher; throws on syntax outside the subset above, so a typo fails at start-up. */
export function compilePattern(pattern: string): RegExp {
  if (!pattern.startsWith("/")) throw new Error(`route pattern ${JSON.stringify(pattern)} must start with "/"`);
  const segments = pattern.slice(1).split("/");
  const parts = segments.map((segment, position) => {
    if (segment === "*" && position === segments.length - 1) return ".+";
    if (/^:[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) return "[^/]+";
    const constrained = /^:[A-Za-z_][A-Za-z0-9_]*\{([^{}/]+)\}$/.exec(segment)?.[1];
    if (constrained !== undefined) return `(?:${constrained})`;
    if (/^[A-Za-z0-9._~-]*$/.test(segment)) return segment.replace(/\./g, "\\.");
    throw new Error(`route pattern ${JSON.stringify(pattern)}: unsupported segment ${JSON.stringify(segment)}`);
  });
  return new RegExp(`^/${parts.join("/")}$`);
}

export interface CompiledRoute extends Route {
  family: string;
  matcher: RegExp;
}

export function compileFamilies(families: readonly EndpointFamily[]): CompiledRoute[] {
  return families.flatMap((family) => family.routes.map((route) => ({ ...route, family: family.name, matcher: compilePattern(route.path) })));
}

/** Methods the table allows on a path, in METHODS order; empty when no route matches it (a 404, not a 405). */
export function allowedMethods(routes: readonly CompiledRoute[], path: string): Method[] {
  const allowed = new Set<Method>();
  for (const route of routes) if (route.matcher.test(path)) for (const method of route.methods) allowed.add(method);
  return METHODS.filter((method) => allowed.has(method));
}

/**
 * The raw (still percent-encoded) path of a request URL. Cheaper than new URL() on the hot boot routes, and the
 * same string Bun.serve and Hono route on.
 */
export function rawPathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  const end = query < 0 ? url.indexOf("#", start) : query;
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

/** The query of a request URL, parsed only when there is one (most boot requests have none). */
export function queryOf(url: string): URLSearchParams | null {
  const start = url.indexOf("?");
  if (start < 0) return null;
  const hash = url.indexOf("#", start);
  return new URLSearchParams(hash < 0 ? url.slice(start + 1) : url.slice(start + 1, hash));
}

type ErrorStatus = 400 | 403 | 404 | 405 | 416 | 500 | 501 | 502 | 503;

/** One-line plain-text error body, the format every non-2xx answer uses. */
export function textError(status: ErrorStatus, reason: string, headers?: Record<string, string>): Response {
  return new Response(`${reason.replace(/[\r\n]+/g, " ")}\n`, { status, headers: { "Content-Type": "text/plain; charset=utf-8", ...headers } });
}
