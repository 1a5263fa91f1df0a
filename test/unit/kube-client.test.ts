// The API-server client on Bun's fetch: TLS and credentials from the kubeconfig (client certificate, CA, a
// credential looked up again after a 401), timeouts, and watches split into events across chunk boundaries. Against a real TLS
// server with certificates from openssl (test/harness/pki.ts); the real API server is in test/kube.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { KubeConfig } from "@kubernetes/client-node";
import type { Server } from "bun";
import { KubeApiError, KubeClient, type WatchEvent } from "../../src/kube/client.ts";
import { LineSplitter, requestSettingsFrom } from "../../src/kube/transport.ts";
import { Reflector } from "../../src/sources/kube/reflector.ts";
import { makeTestPki } from "../harness/pki.ts";

const pki = makeTestPki();
const serving = pki.leaf("api-server");
const clientPair = pki.leaf("appliance");

type Handler = (request: Request, server: Server<undefined>) => Response | Promise<Response>;
let handle: Handler = () => new Response("{}");
let server: Server<undefined>;
/** Peer ports seen: one per TLS connection. */
const connections = new Set<number>();

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: serving.chainPem, key: serving.keyPem, ca: pki.pem("root.crt"), requestCert: true, rejectUnauthorized: false },
    fetch: (request, bunServer) => {
      connections.add(bunServer.requestIP(request)?.port ?? 0);
      return handle(request, bunServer);
    },
  });
});
afterAll(() => server.stop(true));

function kubeConfig(user: Record<string, unknown>): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: "c", server: `https://127.0.0.1:${server.port}`, caData: Buffer.from(pki.pem("root.crt")).toString("base64"), skipTLSVerify: false }],
    users: [{ name: "u", ...user }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return config;
}

/** A JSON answer sent `size` bytes at a time, `pauseMs` apart. */
function inChunks(bytes: Uint8Array, size: number, pauseMs: number): Response {
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (let at = 0; at < bytes.length; at += size) {
        controller.enqueue(bytes.slice(at, at + size));
        await Bun.sleep(pauseMs);
      }
      controller.close();
    },
  });
  return new Response(stream, { headers: { "Content-Type": "application/json" } });
}

describe("KubeClient requests", () => {
  test("TLS to the kubeconfig's CA with its client certificate, one connection for many requests", async () => {
    const subjects: string[] = [];
    handle = (request) => {
      subjects.push(request.headers.get("content-type") ?? "");
      return Response.json({ ok: true, method: request.method });
    };
    const config = kubeConfig({ certData: Buffer.from(clientPair.chainPem).toString("base64"), keyData: Buffer.from(clientPair.keyPem).toString("base64") });
    const client = new KubeClient(config);
    connections.clear();
    for (let i = 0; i < 20; i++)
      expect(await client.request<{ method: string }>("PATCH", "/x", { body: { a: i }, contentType: "application/apply-patch+yaml" })).toEqual({
        ok: true,
        method: "PATCH",
      } as never);
    expect(subjects.every((type) => type === "application/apply-patch+yaml")).toBe(true);
    expect(connections.size).toBe(1);
  });

  test("a server certificate from another CA is refused", async () => {
    handle = () => new Response("{}");
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [
        { name: "c", server: `https://127.0.0.1:${server.port}`, caData: Buffer.from(pki.pem("other-root.crt")).toString("base64"), skipTLSVerify: false },
      ],
      users: [{ name: "u", token: "t" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    await expect(new KubeClient(config).request("GET", "/x")).rejects.toThrow();
  });

  test("credentials are looked up once, not per request; a refused one (401) is looked up again and retried once", async () => {
    // As an exec plugin or a token file behaves: the credential changes under a running client.
    let current = "first";
    let lookups = 0;
    const config = kubeConfig({ token: undefined });
    config.addAuthenticator({
      isAuthProvider: (user) => user.name === "u",
      applyAuthentication: async (_user, options) => {
        lookups++;
        options.headers = { ...options.headers, Authorization: `Bearer ${current}` };
      },
    });
    const seen: string[] = [];
    let accepted = "first";
    handle = (request) => {
      const authorization = request.headers.get("authorization") ?? "";
      seen.push(authorization);
      return authorization === `Bearer ${accepted}`
        ? Response.json({ ok: true })
        : Response.json({ kind: "Status", reason: "Unauthorized", message: "nope" }, { status: 401 });
    };
    const codes: string[] = [];
    const client = new KubeClient(config, { onRequestDone: (_verb, code) => codes.push(code) });
    await Promise.all([client.request("GET", "/x"), client.request("GET", "/x")]);
    await client.request("GET", "/x");
    expect(lookups).toBe(1);
    current = "second";
    accepted = "second";
    await client.request("GET", "/x"); // the kept credential is refused, looked up again, retried
    expect(seen).toEqual(["Bearer first", "Bearer first", "Bearer first", "Bearer first", "Bearer second"]);
    expect(lookups).toBe(2);
    expect(codes).toEqual(["200", "200", "200", "200"]);
    accepted = "third";
    const refused = await client.request("GET", "/x").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect((refused as KubeApiError).status).toBe(401);
    expect((refused as KubeApiError).reason).toBe("Unauthorized");
  });

  test("discardBody: the answer is read but not parsed (a write's whole object); failures still carry their Status", async () => {
    handle = (request) =>
      request.method === "PATCH"
        ? new Response("not json: never parsed")
        : Response.json({ kind: "Status", reason: "Conflict", message: "taken" }, { status: 409 });
    const client = new KubeClient(kubeConfig({ token: "t" }));
    expect(await client.request("PATCH", "/x", { body: {}, discardBody: true })).toEqual({});
    await expect(client.request("PATCH", "/x", { body: {} })).rejects.toThrow(SyntaxError);
    const error = await client.request("POST", "/x", { body: {}, discardBody: true }).catch((caught: unknown) => caught);
    expect((error as KubeApiError).isConflict()).toBe(true);
  });

  test("LIST hands each item over as it is read, page after page, and ends with the last page's resourceVersion", async () => {
    const first = {
      items: [{ metadata: { name: "a" } }, { metadata: { name: "b" }, spec: { s: '}]\\"' } }],
      metadata: { resourceVersion: "5", continue: "next" },
    };
    const next = { items: [{ metadata: { name: "c" } }], metadata: { resourceVersion: "6" } };
    const queries: string[] = [];
    handle = (request) => {
      const url = new URL(request.url);
      queries.push(url.search);
      const bytes = new TextEncoder().encode(JSON.stringify({ kind: "ThingList", ...(url.searchParams.get("continue") === "next" ? next : first) }));
      // Sent a few bytes at a time, so items arrive cut apart.
      return inChunks(bytes, 9, 0);
    };
    const client = new KubeClient(kubeConfig({ token: "t" }));
    const items: unknown[] = [];
    const result = await client.list("/apis/x/v1/things", { labelSelector: "k=v" }, (item) => items.push(item), 2);
    expect(items).toEqual([...first.items, ...next.items]);
    expect(result).toEqual({ resourceVersion: "6" });
    expect(queries).toEqual(["?labelSelector=k%3Dv&limit=2", "?labelSelector=k%3Dv&limit=2&continue=next"]);
  });

  test("a reflector's LIST runs a young collection every 100 items as it reads them, so the trimmed survivors refill what each batch freed", async () => {
    const items = Array.from({ length: 250 }, (_, n) => ({
      metadata: { name: `m${n}`, namespace: "ns", resourceVersion: "7", managedFields: [{ manager: "x", fieldsV1: { "f:spec": {} } }] },
      spec: { n },
    }));
    handle = (request) => {
      if (new URL(request.url).searchParams.get("watch")) {
        // Held open, after a blank line (skipped) that makes Bun send the headers.
        return new Response(new ReadableStream({ start: (controller) => controller.enqueue(new TextEncoder().encode("\n")) }));
      }
      return Response.json({ kind: "ThingList", items, metadata: { resourceVersion: "9" } });
    };
    const collectedAfter: number[] = [];
    let synced: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      synced = resolve;
    });
    const reflector = new Reflector(new KubeClient(kubeConfig({ token: "t" })), {
      path: "/apis/x/v1/things",
      readStatusOwners: true,
      collectYoung: () => collectedAfter.push(reflector.objects.size),
      onChanges: () => {},
      onSynced: () => synced(),
    });
    reflector.start();
    await ready;
    await reflector.stop();
    // Before items 100 and 200 are cached (the LIST is applied once it is read whole), and never after the LIST.
    expect(collectedAfter).toEqual([0, 0]);
    expect(reflector.objects.size).toBe(250);
    expect(reflector.objects.get("ns/m7")?.metadata).not.toHaveProperty("managedFields");
  });

  test("a LIST answer cut short, or refused, fails the LIST", async () => {
    handle = () => new Response('{"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a"}},{"metadata":');
    const client = new KubeClient(kubeConfig({ token: "t" }));
    const items: unknown[] = [];
    await expect(client.list("/things", {}, (item) => items.push(item))).rejects.toThrow("ended early");
    expect(items).toEqual([{ metadata: { name: "a" } }]);
    handle = () => Response.json({ kind: "Status", reason: "Forbidden", message: "no" }, { status: 403 });
    const refused = await client.list("/things", {}, () => {}).catch((caught: unknown) => caught);
    expect((refused as KubeApiError).status).toBe(403);
  });

  test("a request that gets no answer fails with a Timeout error after its timeout", async () => {
    handle = async () => {
      await Bun.sleep(2_000);
      return new Response("{}");
    };
    const client = new KubeClient(kubeConfig({ token: "t" }));
    const started = performance.now();
    const error = await client.request("GET", "/slow", { timeoutMs: 200 }).catch((caught: unknown) => caught);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).reason).toBe("Timeout");
  });
});

describe("KubeClient watches", () => {
  test("events split across chunks arrive whole and in order; a clean end calls onDone(null)", async () => {
    const events = [
      { type: "ADDED", object: { metadata: { name: "a", resourceVersion: "1" } } },
      { type: "MODIFIED", object: { metadata: { name: "a", resourceVersion: "2" }, spec: { text: "ü".repeat(5000) } } },
      { type: "BOOKMARK", object: { metadata: { resourceVersion: "3" } } },
    ];
    const bytes = new TextEncoder().encode(`${events.map((event) => JSON.stringify(event)).join("\n")}\nnot json\n`);
    let query = "";
    handle = (request) => {
      query = new URL(request.url).search;
      // Chunks that cut lines and multi-byte characters apart.
      return inChunks(bytes, 777, 1);
    };
    const client = new KubeClient(kubeConfig({ token: "t" }));
    const received: WatchEvent[] = [];
    const done = Promise.withResolvers<unknown>();
    await client.watch("/apis/x/v1/things", { resourceVersion: "0" }, (event) => received.push(event), done.resolve);
    expect(await done.promise).toBeNull();
    expect(received).toEqual(events as never);
    expect(query).toContain("watch=true");
    expect(query).toContain("resourceVersion=0");
  });

  test("a refused watch ends with an error carrying the status", async () => {
    handle = () => Response.json({ kind: "Status", reason: "Forbidden" }, { status: 403, statusText: "Nope" });
    const client = new KubeClient(kubeConfig({ token: "t" }));
    const done = Promise.withResolvers<unknown>();
    await client.watch("/apis/x/v1/things", {}, () => {}, done.resolve);
    const error = await done.promise;
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).status).toBe(403);
    expect((error as KubeApiError).reason).toBe("Forbidden");
  });

  test("aborting through the handle ends the watch with onDone(null); no headers in time rejects", async () => {
    handle = () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(`${JSON.stringify({ type: "ADDED", object: { metadata: { name: "a" } } })}\n`));
          },
        }),
      );
    const client = new KubeClient(kubeConfig({ token: "t" }));
    const done = Promise.withResolvers<unknown>();
    const received: WatchEvent[] = [];
    const watch = await client.watch("/w", {}, (event) => received.push(event), done.resolve);
    while (received.length === 0) await Bun.sleep(5);
    watch.abort();
    expect(await done.promise).toBeNull();

    handle = async () => {
      await Bun.sleep(3_000);
      return new Response("");
    };
    const started = performance.now();
    const error = await client
      .watch(
        "/w",
        {},
        () => {},
        () => {},
        200,
      )
      .catch((caught: unknown) => caught);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect((error as KubeApiError).reason).toBe("Timeout");
  });
});

describe("request settings and lines (pure)", () => {
  test("the kubeconfig's options become Bun fetch TLS options and headers", () => {
    const settings = requestSettingsFrom({
      ca: Buffer.from("CA"),
      cert: Buffer.from("CERT"),
      key: "KEY",
      rejectUnauthorized: false,
      servername: "api.internal",
      auth: "admin:secret",
      headers: { "Impersonate-User": "jane" },
    });
    expect(settings.tls).toEqual({ ca: "CA", cert: "CERT", key: "KEY", rejectUnauthorized: false, serverName: "api.internal" });
    expect(settings.headers).toEqual({ "Impersonate-User": "jane", Authorization: `Basic ${Buffer.from("admin:secret").toString("base64")}` });
  });

  test("lines across pushes and inside multi-byte characters, blank lines skipped, the last line without newline at the end", () => {
    const lines = new LineSplitter();
    const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
    const euro = bytes("€"); // three bytes, cut after the first
    expect(lines.push(bytes('{"a":"'))).toEqual([]);
    expect(lines.push(euro.subarray(0, 1))).toEqual([]);
    expect(lines.push(new Uint8Array([...euro.subarray(1), ...bytes('"}\n\n{"b":2}\n{"c"')]))).toEqual(['{"a":"€"}', '{"b":2}']);
    expect(lines.end()).toEqual(['{"c"']);
    expect(lines.end()).toEqual([]);
    // A kept rest is a copy: the caller may reuse its buffer.
    const reused = bytes('{"d":1');
    expect(lines.push(reused)).toEqual([]);
    reused.fill(0x20);
    expect(lines.push(bytes("}\n"))).toEqual(['{"d":1}']);
  });
});
