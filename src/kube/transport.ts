// What every request to the API server carries, from the kubeconfig: TLS material for Bun's own fetch and the auth
// headers. client-node works this out per request (applyToFetchOptions reads CA and certificate files, asks the
// auth provider and builds a new https.Agent), and its requests and watches went through node-fetch over Bun's
// node:https shim and a readline over Node streams: together about a third of a Kubernetes-mode storm profile. On
// Bun's fetch, at 10 000 machines, the start-up write-out of 20 000 statuses took 18-24 s of the appliance's CPU
// instead of 35 s, and the writes after a storm 10-14 s instead of 23 s. So the settings are worked out once and
// kept for a short while: an exec plugin's new credential or a renewed client certificate is picked up within
// 10 s, and at once after a 401 (client-node itself re-reads an in-cluster token file once a minute).
import type { KubeConfig } from "@kubernetes/client-node";

/** Bun fetch's TLS options, the subset a kubeconfig can set. */
export interface KubeTls {
  ca?: string;
  cert?: string;
  key?: string;
  passphrase?: string;
  rejectUnauthorized?: boolean;
  serverName?: string;
}

export interface KubeRequestSettings {
  tls: KubeTls;
  headers: Readonly<Record<string, string>>;
}

/** What KubeConfig.applyToHTTPSOptions fills in (https.RequestOptions), as far as a request uses it. */
interface AppliedOptions {
  ca?: unknown;
  cert?: unknown;
  key?: unknown;
  passphrase?: unknown;
  rejectUnauthorized?: unknown;
  servername?: unknown;
  auth?: unknown;
  headers?: Record<string, unknown>;
}

function pem(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  return undefined;
}

/** The kubeconfig's options as Bun fetch takes them (pure; the shape client-node's applyToHTTPSOptions leaves). */
export function requestSettingsFrom(applied: AppliedOptions): KubeRequestSettings {
  const tls: KubeTls = {};
  const ca = pem(applied.ca);
  if (ca !== undefined) tls.ca = ca;
  const cert = pem(applied.cert);
  if (cert !== undefined) tls.cert = cert;
  const key = pem(applied.key);
  if (key !== undefined) tls.key = key;
  if (typeof applied.passphrase === "string") tls.passphrase = applied.passphrase;
  if (typeof applied.rejectUnauthorized === "boolean") tls.rejectUnauthorized = applied.rejectUnauthorized;
  if (typeof applied.servername === "string" && applied.servername !== "") tls.serverName = applied.servername;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(applied.headers ?? {})) {
    if (typeof value === "string" || typeof value === "number") headers[name] = String(value);
    else if (Array.isArray(value)) headers[name] = value.map(String).join(", ");
  }
  if (typeof applied.auth === "string") headers.Authorization = `Basic ${Buffer.from(applied.auth).toString("base64")}`;
  return { tls, headers };
}

/** Settings kept this long; a credential that changes meanwhile is used from the next look (or the next 401). */
const MAX_AGE_MS = 10_000;

export class KubeTransport {
  private cached: { settings: KubeRequestSettings; at: number } | undefined;
  private pending: Promise<KubeRequestSettings> | undefined;

  constructor(private readonly config: KubeConfig) {}

  /** The settings for a request now: kept ones while fresh, else one look at the kubeconfig shared by all callers. */
  async settings(): Promise<KubeRequestSettings> {
    if (this.cached && Date.now() - this.cached.at < MAX_AGE_MS) return this.cached.settings;
    this.pending ??= this.look().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** The API server refused the credential (401): the next request looks at the kubeconfig again. */
  invalidate(): void {
    this.cached = undefined;
  }

  private async look(): Promise<KubeRequestSettings> {
    const applied: AppliedOptions = {};
    await this.config.applyToHTTPSOptions(applied as never);
    const settings = requestSettingsFrom(applied);
    this.cached = { settings, at: Date.now() };
    return settings;
  }
}

/**
 * Splits a watch stream into its lines (one JSON event each), across chunk boundaries, on the bytes: a newline byte
 * is never part of a UTF-8 character, so each line is decoded once, whole. Splitting decoded text instead (joining
 * the rest to each chunk, then split) cost ~25 µs per 4 KiB event against 1-5 µs. Pure: feed it chunks, it hands
 * back the complete lines and keeps the rest.
 */
export class LineSplitter {
  private rest: Uint8Array[] = [];
  private readonly decoder = new TextDecoder();

  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end >= 0; end = chunk.indexOf(NEWLINE, start)) {
      let bytes = chunk.subarray(start, end);
      if (this.rest.length > 0) {
        this.rest.push(bytes);
        bytes = Buffer.concat(this.rest);
        this.rest = [];
      }
      this.keep(lines, bytes);
      start = end + 1;
    }
    // A copy: the stream may hand the same buffer back with the next chunk in it.
    if (start < chunk.length) this.rest.push(chunk.slice(start));
    return lines;
  }

  /** What is left when the stream ends (a last line without a newline). */
  end(): string[] {
    const lines: string[] = [];
    if (this.rest.length > 0) this.keep(lines, Buffer.concat(this.rest));
    this.rest = [];
    return lines;
  }

  private keep(lines: string[], bytes: Uint8Array): void {
    const line = this.decoder.decode(bytes);
    if (line.trim() !== "") lines.push(line);
  }
}

const NEWLINE = 0x0a;
