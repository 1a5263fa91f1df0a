// Bun.serve around the Hono app, with the limits a boot server on an untrusted segment needs.
import type { Server } from "bun";
import type { Hono } from "hono";
import type { Logger } from "../observability/log.ts";
import type { AppEnv } from "./context.ts";

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

export function startHttpServer(app: Hono<AppEnv>, listen: ListenAddress, log: Logger, options: { idleTimeoutSeconds: number }): RunningServer {
  const server = Bun.serve({
    hostname: listen.hostname,
    port: listen.port,
    // Boot clients send tiny GETs; nothing here accepts a body.
    maxRequestBodySize: 64 * 1024,
    // Closes connections idle for this long (slowloris, abandoned downloads); active transfers are not idle.
    idleTimeout: options.idleTimeoutSeconds,
    fetch: (request, bunServer) => app.fetch(request, bunServer),
    error: (error) => {
      log.error("unhandled server error", { error: error.message });
      return new Response("internal error\n", { status: 500, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    },
  });
  const url = `http://${listen.hostname.includes(":") ? `[${listen.hostname}]` : listen.hostname}:${server.port}`;
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
