// A Butane secret with only warnings (an unused key, as a typo makes one) is served as Butane serves it, the
// warning is logged once per secret version, and `validate` names it without failing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Appliance, runCommand, startAppliance } from "../harness/appliance.ts";

const UUID = "5a4e1d0c-1b2a-4c3d-8e9f-0a1b2c3d4e5f";
const RESOURCES = `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: typo}
spec: {systemUUID: ${UUID}, kernelURL: http://k/v, initrdURL: http://k/i, ignitionSecretRef: {name: typo}}
---
apiVersion: v1
kind: Secret
metadata: {name: typo}
stringData:
  format: fcos
  ignition: |
    variant: flatcar
    version: 1.1.0
    storage:
      files:
        - path: /etc/motd
          permissions: 0644
          contents: {inline: !!binary /wCAgQ==}
`;

let dir: string;
let appliance: Appliance;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "boot-operator-butane-warnings-"));
  await writeFile(join(dir, "resources.yaml"), RESOURCES);
  appliance = await startAppliance(["--source", `dir:${dir}`]);
  await appliance.waitReady();
});

afterAll(async () => {
  await appliance?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("Butane warnings are not errors", () => {
  test("the config is served (flatcar variant under format fcos, exact !!binary bytes), the typo dropped", async () => {
    for (let request = 0; request < 3; request++) {
      const response = await fetch(`${appliance.url}/ignition/${UUID}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(
        '{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/motd","contents":{"compression":"","source":"data:,%FF%00%80%81"}}]}}',
      );
    }
  });

  test("the warning is logged once for this secret version, not once per request", async () => {
    const line = await appliance.waitForLog((entry) => entry.msg === "butane translated with warnings");
    expect(line.level).toBe("warn");
    expect(line.secret).toBe("default/typo");
    expect(line.warnings).toEqual(["storage.files.0.permissions (line 6, column 7): unused key permissions"]);
    expect(appliance.logs.filter((entry) => entry.msg === "butane translated with warnings")).toHaveLength(1);
  });

  test("validate prints the warning and still exits 0", async () => {
    const { code, stdout } = await runCommand(["validate", dir]);
    expect(stdout).toContain(
      "warning: IPXEBootConfig default/typo: secret default/typo: storage.files.0.permissions (line 6, column 7): unused key permissions",
    );
    expect(stdout).toContain("0 error(s)");
    expect(code).toBe(0);
  });

  test("explain shows it under the /ignition answer", async () => {
    const { stdout } = await runCommand(["explain", "--source", `dir:${dir}`, "--uuid", UUID]);
    expect(stdout).toContain("~ secret default/typo: storage.files.0.permissions (line 6, column 7): unused key permissions");
  });
});
