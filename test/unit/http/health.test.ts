// /healthz, /readyz and /metrics in process.
import { describe, expect, test } from "bun:test";
import { testApp } from "./harness.ts";

describe("health", () => {
  test("/healthz answers before anything is loaded", async () => {
    const response = await testApp({}, { loaded: false }).request("/healthz");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok\n");
  });

  test("/readyz waits for the first snapshot, then for the extra readiness condition", async () => {
    const unloaded = await testApp({}, { loaded: false }).request("/readyz");
    expect(unloaded.status).toBe(503);
    expect(await unloaded.text()).toBe("not ready: resources not loaded yet\n");
    let reason: string | null = "kubernetes caches not synced";
    const subject = testApp({}, { readiness: () => reason });
    const waiting = await subject.request("/readyz");
    expect(waiting.status).toBe(503);
    expect(await waiting.text()).toBe("not ready: kubernetes caches not synced\n");
    reason = null;
    const ready = await subject.request("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe("ok\n");
  });

  test("/metrics renders Prometheus text, counting requests by route pattern, method and status", async () => {
    const subject = testApp();
    await subject.request("/ipxe/not-a-uuid");
    await subject.request("/nope");
    const response = await subject.request("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    expect(text).toContain('boot_operator_http_requests_total{route="/ipxe/:uuid",method="GET",status="400"} 1');
    expect(text).toContain('boot_operator_http_requests_total{route="unmatched",method="GET",status="404"} 1');
  });
});
