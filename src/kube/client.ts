// Thin API-server client on top of @kubernetes/client-node's KubeConfig (every auth method: in-cluster token
// rotation, client certificates, exec plugins), on Bun's own fetch (transport.ts says why). We add timeouts on
// requests that never answer, paginated LIST, watches, and typed errors carrying the HTTP status and Status reason.
import type { KubeConfig } from "@kubernetes/client-node";
import { type ListEnvelope, ListItemSplitter } from "./list-items.ts";
import { TokenBucket, type TokenBucketOptions } from "./rate-limit.ts";
import { KubeTransport, LineSplitter } from "./transport.ts";

/** metav1.StatusReason values: a reason outside this set came from something else (a proxy's status text). */
const STATUS_REASONS: ReadonlySet<string> = new Set([
  "Unauthorized",
  "Forbidden",
  "NotFound",
  "AlreadyExists",
  "Conflict",
  "Gone",
  "Invalid",
  "ServerTimeout",
  "StoreReadError",
  "Timeout",
  "TooManyRequests",
  "BadRequest",
  "MethodNotAllowed",
  "NotAcceptable",
  "RequestEntityTooLarge",
  "UnsupportedMediaType",
  "InternalError",
  "Expired",
  "ServiceUnavailable",
]);

/**
 * An API-server answer of status >= 400 (or 0: no answer in time). `reason` is the Status body's reason when there
 * was one. The predicates decide as client-go's apierrors do: by reason when the server gave a known one, else by
 * HTTP status.
 */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  private is(reasons: readonly string[], status: number): boolean {
    return STATUS_REASONS.has(this.reason) ? reasons.includes(this.reason) : this.status === status;
  }

  isNotFound(): boolean {
    return this.is(["NotFound"], 404);
  }

  /** A write lost an optimistic-concurrency race (resourceVersion moved). */
  isConflict(): boolean {
    return this.is(["Conflict"], 409);
  }

  /** A create found the name taken. */
  isAlreadyExists(): boolean {
    return this.is(["AlreadyExists"], 409);
  }

  /** The resourceVersion asked for is no longer in the watch cache: only a fresh LIST helps ("Expired" is its newer name). */
  isGone(): boolean {
    return this.is(["Gone", "Expired"], 410);
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.isNotFound();
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.isConflict();
}

export function isAlreadyExists(error: unknown): boolean {
  return error instanceof KubeApiError && error.isAlreadyExists();
}

export function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && error.isGone();
}

/** Objects per LIST page (see list). */
const LIST_PAGE_SIZE = 10_000;

type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
  /** How the request is counted when it is not its method (LIST). */
  verb?: KubeVerb;
  /** The caller needs only success or failure: the answer (the whole object, for a write) is not parsed. */
  discardBody?: boolean;
}

/** A LIST page's items, parsed one by one, then its envelope. */
async function readListItems(response: Response, onItem: (item: unknown) => void): Promise<ListEnvelope> {
  const splitter = new ListItemSplitter();
  // The body is read whole by Bun itself, then split: read as a stream, chunk by chunk on this thread, the two
  // boot-config LISTs of a 10 000-machine restart finished ~0.7 s later in the appliance (not seen standalone).
  splitter.push(await response.bytes(), (item) => onItem(JSON.parse(item)));
  return splitter.end();
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: Record<string, unknown>;
}

export interface WatchHandle {
  abort(): void;
}

/** Kubernetes verbs as counted: the HTTP method, LIST for collection reads, WATCH for watches. */
type KubeVerb = "GET" | "LIST" | "WATCH" | "POST" | "PUT" | "PATCH" | "DELETE";

interface KubeClientOptions {
  /** Per-request timeout for non-watch calls. */
  requestTimeoutMs?: number;
  /**
   * Called once per finished request with its verb and code (the HTTP status, "<error>" without an answer); a
   * watch counts when it ends. For the API request metric.
   */
  onRequestDone?: (verb: KubeVerb, code: string) => void;
  /** Token bucket for non-watch requests (--kube-api-qps / --kube-api-burst); unlimited when unset. */
  rateLimit?: TokenBucketOptions;
}

/** The HTTP status a failed request or watch carried, "<error>" when there was no answer. */
function codeOf(error: unknown): string {
  return error instanceof KubeApiError && error.status !== 0 ? String(error.status) : "<error>";
}

/** A refused request or watch (`what`: "GET /api/…", "watch /api/…"), with the reason and message of its Status body. */
function apiErrorOf(response: Response, text: string, what: string): KubeApiError {
  let reason = response.statusText;
  let message = text;
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    reason = status.reason ?? reason;
    message = status.message ?? message;
  } catch {
    // Not a Status object (a proxy in between); keep the raw text.
  }
  return new KubeApiError(response.status, reason, `${what}: ${response.status} ${message}`);
}

export class KubeClient {
  private readonly transport: KubeTransport;
  private readonly requestTimeoutMs: number;
  private readonly onRequestDone: (verb: KubeVerb, code: string) => void;
  private readonly limiter: TokenBucket | undefined;

  constructor(
    readonly config: KubeConfig,
    options: KubeClientOptions = {},
  ) {
    this.transport = new KubeTransport(config);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.onRequestDone = options.onRequestDone ?? (() => {});
    this.limiter = options.rateLimit ? new TokenBucket(options.rateLimit) : undefined;
  }

  get server(): string {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error("no Kubernetes cluster configured");
    return cluster.server;
  }

  async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    return this.exchange(method, path, options, async (response) => {
      const text = await response.text();
      return (text === "" || options.discardBody ? {} : JSON.parse(text)) as T;
    });
  }

  /**
   * One request, its answer read by `read` when the status is below 400: the rate limit, one deadline for the whole
   * request (body included), one retry after a 401, a KubeApiError for a refusal or a timeout, and the count.
   */
  private async exchange<T>(method: HttpMethod, path: string, options: RequestOptions, read: (response: Response) => Promise<T>): Promise<T> {
    // Watches are long-lived and not counted (as in client-go); every other request waits for its token.
    if (this.limiter) await this.limiter.take();
    const url = this.urlFor(path, options.query);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    // Cleared at the end, so no timer outlives its request.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    // Every request ends in the finally below, answered or not: the one place it is counted.
    let code = "<error>";
    try {
      let response = await this.send(method, url, body, options.contentType, controller.signal);
      // A credential refused after it changed (rotated token, expired exec credential): look again, once.
      if (response.status === 401) {
        this.transport.invalidate();
        await response.body?.cancel();
        response = await this.send(method, url, body, options.contentType, controller.signal);
      }
      code = String(response.status);
      if (response.status >= 400) throw apiErrorOf(response, await response.text(), `${method} ${path}`);
      return await read(response);
    } catch (error) {
      if (controller.signal.aborted) throw new KubeApiError(0, "Timeout", `${method} ${path}: no answer within ${timeoutMs} ms`);
      throw error;
    } finally {
      clearTimeout(timer);
      this.onRequestDone(options.verb ?? method, code);
    }
  }

  private urlFor(path: string, query: Record<string, string | number | boolean | undefined> | undefined): string {
    const url = new URL(this.server.replace(/\/+$/, "") + path);
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }

  private async send(method: string, url: string, body: string | undefined, contentType: string | undefined, signal: AbortSignal): Promise<Response> {
    const { tls, headers } = await this.transport.settings();
    return fetch(url, {
      method,
      headers: { ...headers, Accept: "application/json", ...(body === undefined ? {} : { "Content-Type": contentType ?? "application/json" }) },
      ...(body === undefined ? {} : { body }),
      signal,
      tls,
    });
  }

  /**
   * LIST in pages (limit/continue), so a huge collection never arrives as one giant response, each item handed to
   * `onItem` as it is read (list-items.ts says why). Pages are large: at 10 000 objects a kind, 500-object pages
   * (client-go's size) cost the API server about 1.1 s of CPU for the three start-up LISTs against 0.6 s for one
   * page each (its cache serves a whole list cheaper than 20 continuations), and 60 round trips instead of 3 before
   * the first answer. A LIST that fails part way fails whole: the caller keeps what it was handed only once this
   * resolves.
   */
  async list(
    path: string,
    query: Record<string, string | undefined>,
    onItem: (item: unknown) => void,
    pageSize = LIST_PAGE_SIZE,
  ): Promise<{ resourceVersion: string }> {
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const envelope = await this.exchange(
        "GET",
        path,
        { query: { ...query, limit: pageSize, continue: continueToken }, timeoutMs: 60_000, verb: "LIST" },
        (response) => readListItems(response, onItem),
      );
      resourceVersion = envelope.metadata?.resourceVersion ?? "";
      continueToken = envelope.metadata?.continue || undefined;
    } while (continueToken);
    return { resourceVersion };
  }

  /**
   * Opens a watch. Resolves once the response headers arrived (or rejects after `connectTimeoutMs`: a server that
   * never answers would otherwise hang the caller forever). `onDone` fires exactly once when the stream ends: with
   * null when it ended cleanly or was aborted through the handle, else with the error (a non-200 answer is a
   * KubeApiError).
   */
  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent) => void,
    onDone: (error: unknown) => void,
    connectTimeoutMs = 30_000,
  ): Promise<WatchHandle> {
    const controller = new AbortController();
    let abortedByUs = false;
    let finished = false;
    const finish = (error: unknown): void => {
      if (finished) return;
      finished = true;
      controller.abort();
      const failed = error !== null && !abortedByUs;
      this.onRequestDone("WATCH", failed ? codeOf(error) : "200");
      onDone(failed ? error : null);
    };
    const url = this.urlFor(path, { ...query, watch: true });
    const connectTimer = setTimeout(
      () => controller.abort(new KubeApiError(0, "Timeout", `watch ${path}: no response headers within ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
    let response: Response;
    try {
      response = await this.send("GET", url, undefined, undefined, controller.signal);
    } catch (error) {
      const reason = controller.signal.reason instanceof KubeApiError ? controller.signal.reason : error;
      finished = true;
      this.onRequestDone("WATCH", codeOf(reason));
      throw reason;
    } finally {
      clearTimeout(connectTimer);
    }
    const handle: WatchHandle = {
      abort: () => {
        abortedByUs = true;
        controller.abort();
      },
    };
    if (response.status !== 200 || !response.body) {
      if (response.status === 401) this.transport.invalidate();
      finish(apiErrorOf(response, await response.text().catch(() => ""), `watch ${path}`));
      return handle;
    }
    void this.readEvents(response.body, onEvent).then(
      () => finish(null),
      (error: unknown) => finish(abortedByUs ? null : error),
    );
    return handle;
  }

  /** One JSON event per line; a line that is not JSON is skipped (as client-node's Watch did). */
  private async readEvents(body: ReadableStream<Uint8Array>, onEvent: (event: WatchEvent) => void): Promise<void> {
    const lines = new LineSplitter();
    const deliver = (line: string): void => {
      let event: WatchEvent;
      try {
        event = JSON.parse(line) as WatchEvent;
      } catch {
        return;
      }
      onEvent({ type: event.type, object: event.object });
    };
    for await (const chunk of body) for (const line of lines.push(chunk)) deliver(line);
    for (const line of lines.end()) deliver(line);
  }
}
