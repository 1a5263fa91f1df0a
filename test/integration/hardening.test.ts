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

test("a huge Content-Length is refused at once with 413 and the connection closed, without waiting for the body", async () => {
  // Headers announce 100 MB, then the body trickles a byte every 100 ms: the answer must not wait for it.
  const result = await new Promise<{ firstLine: string; closedAfterMs: number }>((resolve) => {
    const started = Date.now();
    let received = "";
    let trickle: ReturnType<typeof setInterval> | undefined;
    const socket: Socket = connect(app.port, "127.0.0.1", () => {
      socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
      trickle = setInterval(() => socket.write("x"), 100);
    });
    const finish = (): void => {
      clearInterval(trickle);
      resolve({ firstLine: received.split("\r\n")[0] ?? "", closedAfterMs: Date.now() - started });
    };
    socket.on("data", (chunk) => (received += chunk.toString()));
    socket.on("close", finish);
    socket.on("error", () => {});
    setTimeout(() => {
      socket.destroy();
      finish();
    }, 10_000);
  });
  expect(result.firstLine).toBe("HTTP/1.1 413 Payload Too Large");
  expect(result.closedAfterMs).toBeLessThan(1_000);
});

test("routing does not depend on Host; URLs are not rendered from a missing or malformed one", async () => {
  const cases = [
    ["HTTP/1.0 without Host", "GET /healthz HTTP/1.0\r\n\r\n", "GET /ipxe HTTP/1.0\r\n\r\n"],
    ["empty Host", "GET /healthz HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n", "GET /ipxe HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n"],
    [
      "Host: evil/x@y",
      "GET /healthz HTTP/1.1\r\nHost: evil/x@y\r\nConnection: close\r\n\r\n",
      "GET /ipxe HTTP/1.1\r\nHost: evil/x@y\r\nConnection: close\r\n\r\n",
    ],
  ] as const;
  for (const [name, health, ipxe] of cases) {
    expect({ name, line: (await rawExchange(health, 5_000)).firstLine }).toEqual({ name, line: "HTTP/1.1 200 OK" });
    expect({ name, line: (await rawExchange(ipxe, 5_000)).firstLine }).toEqual({ name, line: "HTTP/1.1 400 Bad Request" });
  }
  const valid = await rawExchange("GET /ipxe HTTP/1.1\r\nHost: 10.0.0.1:8082\r\nConnection: close\r\n\r\n", 5_000);
  expect(valid.firstLine).toBe("HTTP/1.1 200 OK");
});

test("--forwarded-for rightmost: a client cannot prepend a victim's address through an appending proxy", async () => {
  const behindNginx = await startAppliance(["--trusted-proxies", "127.0.0.1/32", "--forwarded-for", "rightmost"]);
  try {
    await behindNginx.waitReady();
    // The client claimed 10.0.1.66; the proxy appended the address it really saw, 10.0.1.7.
    const response = await fetch(`${behindNginx.url}/httpboot`, { headers: { "X-Forwarded-For": "10.0.1.66, 10.0.1.7" } });
    expect(await response.text()).toBe("no HTTPBootConfig claims 10.0.1.7 and no default UKI is configured\n");
  } finally {
    await behindNginx.stop();
  }
  const invalid = await startAppliance(["--forwarded-for", "leftmost"]).catch((error: Error) => error);
  expect(invalid instanceof Error ? invalid.message : "started").toContain("--forwarded-for");
});
