// Limits a boot server on an untrusted segment needs, checked on raw sockets against the compiled binary.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { type Appliance, startAppliance } from "../harness/appliance.ts";

/** maxRequestBodySize in src/http/server.ts: boot clients send tiny GETs, nothing accepts a body. */
const BODY_LIMIT = 64 * 1024;
let app: Appliance;

beforeAll(async () => {
  app = await startAppliance(["--idle-timeout", "2"]);
  await app.waitReady();
});
afterAll(() => app?.stop());

function rawExchange(payload: string, timeoutMs: number): Promise<{ firstLine: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket: Socket = connect(app.port, "127.0.0.1", () => socket.write(payload));
    let received = "";
    const finish = (): void => resolve({ firstLine: received.split("\r\n")[0] ?? "", closedAfterMs: Date.now() - started });
    socket.on("data", (chunk) => (received += chunk.toString()));
    socket.on("close", finish);
    socket.on("error", () => {});
    setTimeout(() => {
      socket.destroy();
      finish();
    }, timeoutMs);
  });
}

test("oversized request headers are refused with 431", async () => {
  const ok = await rawExchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${"a".repeat(8_000)}\r\nConnection: close\r\n\r\n`, 5_000);
  expect(ok.firstLine).toBe("HTTP/1.1 200 OK");
  const big = await rawExchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${"a".repeat(64_000)}\r\n\r\n`, 5_000);
  expect(big.firstLine).toBe("HTTP/1.1 431 Request Header Fields Too Large");
});

test("a client that never finishes its headers is disconnected (slowloris)", async () => {
  const slow = await rawExchange("GET /healthz HTTP/1.1\r\nHost: x\r\n", 30_000);
  expect(slow.firstLine).toBe("");
  // --idle-timeout 2; Bun checks idle sockets on a coarse timer, so allow a generous bound below the 30 s guard.
  expect(slow.closedAfterMs).toBeLessThan(20_000);
}, 40_000);

test("a request body over the 64 KiB limit is refused with 413 before it is read; one at the limit is not", async () => {
  // Only the headers are sent: the size in Content-Length alone gets the answer, the server never waits for the body.
  const over = await rawExchange(`POST /ipxe HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY_LIMIT + 1}\r\nConnection: close\r\n\r\n`, 5_000);
  expect(over.firstLine).toBe("HTTP/1.1 413 Request Entity Too Large");
  const atLimit = await fetch(`${app.url}/ipxe`, { method: "POST", body: "x".repeat(BODY_LIMIT) });
  expect(atLimit.status).toBe(405); // refused for its method, not for its size
});
