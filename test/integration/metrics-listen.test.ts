// --metrics-listen (alias --metrics-bind-address): without it /metrics is on the boot port, as it always was; with
// an address of its own, /metrics is served there only, so the boot port (facing the provisioning network) does not
// expose it, while boot routes and probes stay where machines and kubelets look for them.
import { describe, expect, test } from "bun:test";
import { type Appliance, startAppliance } from "../harness/appliance.ts";

async function metricsListenerUrl(app: Appliance): Promise<string> {
  const line = await app.waitForLog((candidate) => candidate.msg === "side listener" && String(candidate.serves).includes("metrics"));
  return String(line.url);
}

describe("--metrics-listen", () => {
  test("unset: /metrics on the boot port", async () => {
    const app = await startAppliance([]);
    try {
      await app.waitReady();
      const response = await fetch(`${app.url}/metrics`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain("boot_operator_http_requests_total");
    } finally {
      await app.stop();
    }
  });

  test.each(["--metrics-listen", "--metrics-bind-address"])("%s ADDR: /metrics there only; boot routes and probes stay on the boot port", async (flag) => {
    const app = await startAppliance([flag, "127.0.0.1:0"]);
    try {
      await app.waitReady();
      const metricsUrl = await metricsListenerUrl(app);
      expect(metricsUrl).not.toBe(app.url);
      const scraped = await fetch(`${metricsUrl}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain("boot_operator_build_info");
      const onBootPort = await fetch(`${app.url}/metrics`);
      expect(onBootPort.status).toBe(404);
      expect(await onBootPort.text()).toStartWith("no such endpoint on this port");
      // The metrics listener serves nothing else; the boot port everything else.
      expect((await fetch(`${metricsUrl}/ipxe`)).status).toBe(404);
      expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${app.url}/ipxe`)).status).toBe(200);
    } finally {
      await app.stop();
    }
  });

  test("0: off, as for controller-runtime: /metrics stays on the boot port", async () => {
    const app = await startAppliance(["--metrics-listen", "0"]);
    try {
      await app.waitReady();
      expect((await fetch(`${app.url}/metrics`)).status).toBe(200);
      expect(app.logs.filter((line) => line.msg === "side listener")).toEqual([]);
    } finally {
      await app.stop();
    }
  });
});
