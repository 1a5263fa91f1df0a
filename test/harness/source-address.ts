// Requests from a chosen source address on 127.0.0.0/8: Bun's fetch cannot pick one, node:http's localAddress binds
// the client socket, so the server sees a different TCP peer per "machine" without any header tricks.
import { request } from "node:http";

export interface PlainAnswer {
  status: number;
  body: string;
}

/** GET (or HEAD) `path` on the server at `baseUrl` from the local address `from` (e.g. 127.0.0.7). */
export function requestFrom(baseUrl: string, path: string, from: string, method = "GET"): Promise<PlainAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const sent = request({ host: url.hostname, port: url.port, path, method, localAddress: from }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    sent.on("error", reject);
    sent.end();
  });
}

/** The boot token in an iPXE script's ignition.config.url, or null. */
export function tokenInScript(script: string): string | null {
  return /ignition\.config\.url=\S*\?token=([A-Za-z0-9_.-]+)/.exec(script)?.[1] ?? null;
}
