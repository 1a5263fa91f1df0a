// Failed boots are visible at the default log level and counted by route and reason (issue #15 §1): the classifier,
// and the middleware through the app in process — an unknown machine, a broken config, a looping client throttled.
import { describe, expect, test } from "bun:test";
import { failureReason, isBootRoute, reasonLine } from "../../../src/http/failures.ts";
import { ipxeConfig } from "../fixtures.ts";
import { testApp } from "./harness.ts";

const KNOWN = "4c4c4544-0042-3510-8052-b4c04f4a4e31";
const UNKNOWN = "00000000-0000-4000-8000-0000000000ff";

describe("failureReason", () => {
  test.each([
    [404, "no IPXEBootConfig matches uuid x, mac (none), address 10.0.0.1", "unknown-machine"],
    [404, "no IPXEBootConfig or HTTPBootConfig has systemUUID x", "unknown-machine"],
    [404, "no HTTPBootConfig claims 10.0.0.1 and no default UKI is configured", "unknown-machine"],
    [404, "ignition secret ns/x referenced by IPXEBootConfig ns/m does not exist", "not-found"],
    [400, 'invalid machine UUID "x"', "bad-request"],
    [500, "butane in secret ns/x does not translate: …", "config-broken"],
    [502, "registry unreachable", "upstream"],
    [503, "not ready", "not-ready"],
    [418, "teapot", "other"],
  ] as const)("%d %s → %s", (status, body, reason) => {
    expect(failureReason(status, body)).toBe(reason);
  });

  test("boot routes are told apart from the health and metrics endpoints", () => {
    for (const route of ["/ipxe", "/ipxe/:uuid", "/ignition/:uuid", "/httpboot", "/httpboot/*", "/uki/*", "/image"]) expect(isBootRoute(route)).toBe(true);
    for (const route of ["/healthz", "/readyz", "/metrics", "/ipxefoo"]) expect(isBootRoute(route)).toBe(false);
  });

  test("the logged reason is the answer's first line, bounded", () => {
    expect(reasonLine("one\ntwo")).toBe("one");
    expect(reasonLine("x".repeat(1000))).toHaveLength(300);
  });
});

describe("the middleware", () => {
  const resources = { ipxe: [ipxeConfig("machine", { systemUUID: KNOWN, ipxeScriptSecretRef: { name: "gone" } })] };

  test("an unknown machine is logged at info with its UUID, client and reason, and counted as unknown-machine", async () => {
    const subject = testApp(resources);
    const response = await subject.request(`/ipxe/${UNKNOWN}`, { from: "10.0.0.7" });
    expect(response.status).toBe(404);
    expect(subject.logs.filter((line) => line.msg === "boot request failed")).toMatchObject([
      { level: "info", path: `/ipxe/${UNKNOWN}`, status: 404, reason: "unknown-machine", client: "10.0.0.7", route: "/ipxe/:uuid" },
    ]);
    expect(subject.deps.metrics.bootRequestsFailed.get({ route: "/ipxe/:uuid", reason: "unknown-machine" })).toBe(1);
  });

  test("a broken config says why; a client looping on it logs once per interval but every failure is counted", async () => {
    const subject = testApp(resources);
    for (let i = 0; i < 5; i++) expect((await subject.request(`/ipxe/${KNOWN}`, { from: "10.0.0.8" })).status).toBe(404);
    const lines = subject.logs.filter((line) => line.msg === "boot request failed");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ reason: "not-found", message: expect.stringContaining("ipxe-script secret default/gone") });
    expect(subject.deps.metrics.bootRequestsFailed.get({ route: "/ipxe/:uuid", reason: "not-found" })).toBe(5);
    // Another client, or another machine behind the same address, is its own key: its first failure is logged too.
    await subject.request(`/ipxe/${KNOWN}`, { from: "10.0.0.9" });
    await subject.request(`/ipxe/${UNKNOWN}`, { from: "10.0.0.8" });
    expect(subject.logs.filter((line) => line.msg === "boot request failed")).toHaveLength(3);
  });

  test("successes and non-boot routes are no failures", async () => {
    const subject = testApp({ ipxe: [ipxeConfig("ok", { systemUUID: KNOWN })] });
    expect((await subject.request(`/ipxe/${KNOWN}`)).status).toBe(200);
    expect((await subject.request("/no-such-endpoint")).status).toBe(404);
    expect(subject.logs.filter((line) => line.msg === "boot request failed")).toEqual([]);
    expect(subject.deps.metrics.registry.render()).not.toContain("boot_operator_boot_requests_failed_total{");
  });
});
