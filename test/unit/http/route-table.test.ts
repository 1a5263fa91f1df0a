// Walks the route table the appliance really mounts: every route answers the methods it lists (HEAD like GET), every
// other method is a 405 whose Allow comes from the table, unknown paths are 404, and nothing is mounted that the
// table does not declare. Adding a family or a route needs no edit here.
import { describe, expect, test } from "bun:test";
import { mountFamilies } from "../../../src/http/app.ts";
import { endpointFamilies } from "../../../src/http/families.ts";
import { allowedMethods, compileFamilies, compilePattern, METHODS, queryOf, rawPathOf } from "../../../src/http/routes.ts";
import { testApp } from "./harness.ts";

// ONIE's names at / are on, so the table walked includes every route the appliance can mount.
const subject = testApp({}, { settings: { ztpOnieAtRoot: true } });
const families = endpointFamilies(subject.deps);
const routes = compileFamilies(families);

/** A concrete path a route matches: its own sample, else each `:param` and the final `*` replaced by sample segments. */
function samplePath(pattern: string): string {
  const declared = routes.find((route) => route.path === pattern)?.samplePath;
  return declared ?? pattern.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, "sample").replace(/\*$/, "a/b.efi");
}

const NOT_THE_TABLE = /^no such endpoint: /;

describe("the route table", () => {
  test("is well-formed: unique patterns, and every GET route also lists HEAD", () => {
    const patterns = routes.map((route) => route.path);
    expect(new Set(patterns).size).toBe(patterns.length);
    for (const route of routes) {
      expect({ route: route.path, methods: route.methods.length > 0 }).toEqual({ route: route.path, methods: true });
      if (route.methods.includes("GET"))
        expect({ route: route.path, methods: route.methods }).toEqual({ route: route.path, methods: expect.arrayContaining(["HEAD"]) });
    }
  });

  test("the app has exactly the table's routes mounted, nothing besides, on both entry points", () => {
    const declared = new Set(routes.flatMap((route) => route.methods.map((method) => `${method} ${route.path}`)));
    const mounted = subject.app.routes.map((route) => `${route.method} ${route.path}`);
    expect(new Set(mounted)).toEqual(declared);
    const native = Object.entries(subject.app.nativeRoutes(() => new Response())).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path}`),
    );
    expect(new Set(native)).toEqual(declared);
  });

  for (const route of routes) {
    const path = samplePath(route.path);
    const allowed = allowedMethods(routes, path);

    test(`${route.family}: ${route.path} answers ${route.methods.join(", ")} itself`, async () => {
      for (const method of route.methods) {
        const response = await subject.request(path, { method });
        const body = await response.text();
        expect({ method, status: response.status, body }).not.toMatchObject({ status: 405 });
        expect({ method, body }).not.toMatchObject({ body: expect.stringMatching(NOT_THE_TABLE) });
      }
    });

    if (route.methods.includes("GET")) {
      test(`${route.family}: HEAD ${route.path} is GET without the body`, async () => {
        const get = await subject.request(path);
        const head = await subject.request(path, { method: "HEAD" });
        expect({ status: head.status, headers: Object.fromEntries(head.headers) }).toEqual({ status: get.status, headers: Object.fromEntries(get.headers) });
        expect(await head.text()).toBe("");
      });
    }

    test(`${route.family}: every other method on ${route.path} is 405 with Allow: ${allowed.join(", ")}`, async () => {
      const wrong = [...METHODS, "PROPFIND"].filter((method) => !(allowed as string[]).includes(method));
      expect(wrong.length).toBeGreaterThan(0);
      for (const method of wrong) {
        const response = await subject.request(path, { method, ...(method === "GET" || method === "HEAD" ? {} : { body: "x" }) });
        expect({ method, status: response.status, allow: response.headers.get("allow") }).toEqual({ method, status: 405, allow: allowed.join(", ") });
        const body = method === "HEAD" ? "" : `method ${method} is not allowed on ${path} (allowed: ${allowed.join(", ")})\n`;
        expect(await response.text()).toBe(body);
      }
    });
  }

  test.each(["/nope", "/", "/ipxe/a/b", "/uki", "/uki/", "/ignition", "/ignition/", "/httpboot/", "/healthz/x", "/metricsz"])(
    "%p is not in the table: 404 for every method",
    async (path) => {
      expect(allowedMethods(routes, path)).toEqual([]);
      for (const method of ["GET", "HEAD", "POST", "OPTIONS"]) {
        const response = await subject.request(path, { method });
        expect({ method, status: response.status, allow: response.headers.get("allow") }).toEqual({ method, status: 404, allow: null });
        if (method !== "HEAD") expect(await response.text()).toBe(`no such endpoint: ${path}\n`);
      }
    },
  );

  test("the answer does not depend on the order families are listed in (/httpboot vs /httpboot/*)", async () => {
    const reversed = mountFamilies([...families].reverse());
    for (const path of [...routes.map((route) => samplePath(route.path)), "/httpboot", "/uki", "/nope"]) {
      const [a, b] = await Promise.all([subject.app.request(path), reversed.request(path)]);
      // /metrics carries live process figures (CPU, RSS), which differ between any two scrapes: its status suffices.
      const body = async (response: Response): Promise<string> => (path === "/metrics" ? "" : await response.text());
      expect({ path, status: b.status, body: await body(b) }).toEqual({ path, status: a.status, body: await body(a) });
    }
  });
});

describe("route patterns", () => {
  test.each([
    ["/ipxe", "/ipxe", true],
    ["/ipxe", "/ipxe/", false],
    ["/ipxe/", "/ipxe/", true],
    ["/ipxe/:uuid", "/ipxe/x", true],
    ["/ipxe/:uuid", "/ipxe/", false],
    ["/ipxe/:uuid", "/ipxe/x/y", false],
    ["/uki/*", "/uki/a/b", true],
    ["/uki/*", "/uki/", false],
    ["/uki/*", "/uki", false],
    ["/a.b", "/aXb", false],
    ["/:name{onie-[a-z]+}", "/onie-installer", true],
    ["/:name{onie-[a-z]+}", "/onie-", false],
    ["/:name{onie-[a-z]+}", "/metrics", false],
  ])("%p matches %p: %p", (pattern, path, expected) => expect(compilePattern(pattern).test(path)).toBe(expected));

  test.each(["ipxe", "/ipxe/:uuid?", "/uki/*/x", "/x/{id}", "/a/:"])("%p is refused", (pattern) => expect(() => compilePattern(pattern)).toThrow());
});

describe("request helpers", () => {
  test.each([
    ["http://b:1/ipxe/x?mac=1", "/ipxe/x"],
    ["http://b:1/ipxe/", "/ipxe/"],
    ["http://b:1", "/"],
    ["http://[fd00::1]:8082/uki/a%20b#frag", "/uki/a%20b"],
  ])("rawPathOf(%p) = %p", (url, path) => expect(rawPathOf(url)).toBe(path));

  test("queryOf parses only when there is a query", () => {
    expect(queryOf("http://b:1/ipxe")).toBeNull();
    expect(queryOf("http://b:1/ipxe/?mac=52-54-00-aa-bb-02&arch=x86_64#x")?.get("arch")).toBe("x86_64");
    expect(queryOf("http://b:1/ipxe/?mac")?.get("mac")).toBe("");
  });
});
