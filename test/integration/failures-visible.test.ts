// Issue #15 §1 through the compiled binary at the default log level: a machine that does not boot is in the log with
// its UUID, client and reason, and counted; configs in Error count as problems (the gauge stayed 0 while three configs
// were in Error, and the load line said "problems: 0").
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Appliance, startAppliance } from "../harness/appliance.ts";

const BROKEN = ["11111111-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000002", "11111111-0000-4000-8000-000000000003"];
const UNKNOWN = "22222222-0000-4000-8000-0000000000ff";

let dir: string;
let app: Appliance;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "failures-visible-"));
  const configs = BROKEN.map(
    (uuid, i) => `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: broken-${i}}
spec:
  systemUUID: ${uuid}
  kernelURL: http://images.example/vmlinuz
  initrdURL: http://images.example/initrd
  ignitionSecretRef: {name: missing-${i}}
`,
  );
  await writeFile(join(dir, "configs.yaml"), configs.join("---\n"));
  app = await startAppliance(["--source", `dir:${dir}`, "--public-url", "http://boot.test"]);
  await app.waitReady();
});

afterAll(async () => {
  await app?.stop();
  await rm(dir, { recursive: true, force: true });
});

test("configs in Error are counted in boot_operator_resource_problems and named in the log", async () => {
  const checked = await app.waitForLog((line) => line.msg === "resources checked");
  expect(checked.configsInError).toBe(3);
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  expect(metrics).toContain('boot_operator_resource_problems{severity="error"} 3');
});

test("an unknown machine and a broken one are logged at info with uuid, client and reason, and counted", async () => {
  expect((await fetch(`${app.url}/ignition/${UNKNOWN}`)).status).toBe(404);
  expect((await fetch(`${app.url}/ignition/${BROKEN[0]}`)).status).toBe(404);
  const unknown = await app.waitForLog((line) => line.msg === "boot request failed" && String(line.path).includes(UNKNOWN));
  expect(unknown).toMatchObject({ level: "info", status: 404, reason: "unknown-machine", client: "127.0.0.1", route: "/ignition/:uuid" });
  const broken = await app.waitForLog((line) => line.msg === "boot request failed" && String(line.path).includes(String(BROKEN[0])));
  expect(broken).toMatchObject({ level: "info", reason: "not-found", message: expect.stringContaining("missing-0") });
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  expect(metrics).toContain('boot_operator_boot_requests_failed_total{route="/ignition/:uuid",reason="unknown-machine"} 1');
  expect(metrics).toContain('boot_operator_boot_requests_failed_total{route="/ignition/:uuid",reason="not-found"} 1');
});
