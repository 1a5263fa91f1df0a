// Switches in Kubernetes mode, through the compiled binary against a real kube-apiserver: the generated CRD's CEL
// rules reject a switch with nothing to serve; the status reconciler writes Ready and IdentifiersUnique (a serial
// claimed twice is a conflict on the loser); each ZTP fetch records its *Fetched condition with the requester and
// the versions the switch reported.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseBootResource } from "../../src/api/index.ts";
import type { Appliance } from "../harness/appliance.ts";
import type { ControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS, SWITCH_CRD_PATH } from "../harness/crds.ts";
import { type Condition, conditionOf, type KubeMode, startKubeMode } from "../harness/kube-mode.ts";
import { eventually } from "../harness/wait.ts";

const NS = "switches";
const GROUP_PATH = `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}/switchbootconfigs`;

interface StatusObject {
  status?: { state?: string; conditions?: Condition[] };
}

let kube: KubeMode | undefined;
let cp: ControlPlane;
let app: Appliance;

function switchConfig(name: string, spec: Record<string, unknown>) {
  return { apiVersion: "boot.ironcore.dev/v1alpha1", kind: "SwitchBootConfig", metadata: { name, namespace: NS }, spec };
}

async function condition(name: string, type: string): Promise<Condition | undefined> {
  return conditionOf((await cp.requestOk("GET", `${GROUP_PATH}/${name}`)) as StatusObject, type);
}

async function state(name: string): Promise<string | undefined> {
  return ((await cp.requestOk("GET", `${GROUP_PATH}/${name}`)) as StatusObject).status?.state;
}

beforeAll(async () => {
  kube = await startKubeMode({
    crdPaths: [...BOOT_CRD_PATHS, SWITCH_CRD_PATH],
    namespace: NS,
    prepare: async (controlPlane) => {
      await controlPlane.applyObjects([
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "leaf-ztp", namespace: NS },
          stringData: {
            script: "#!/bin/bash\n# CUMULUS-AUTOPROVISIONING\nhostnamectl set-hostname {{.Hostname}}\n",
            "ztp.json": '{"ztp": {"01-configdb-json": {"url": {"source": "{{.FilesURL}}/config_db.json"}}}}',
            "config_db.json": "{}",
          },
        },
        switchConfig("leaf-1", {
          serialNumber: "SN-LEAF-1",
          macAddresses: ["44:38:39:00:00:04"],
          onie: { installerURL: "http://files.example/nos-installer.bin" },
          sonic: { ztpJSONSecretRef: { name: "leaf-ztp" } },
          provisioningScriptSecretRef: { name: "leaf-ztp" },
        }),
        switchConfig("twin-a", { serialNumber: "SN-TWIN", provisioningScriptSecretRef: { name: "leaf-ztp" } }),
      ]);
      // Created later, so twin-a is older and holds the serial.
      await controlPlane.applyObjects([switchConfig("twin-b", { serialNumber: "sn-twin", provisioningScriptSecretRef: { name: "leaf-ztp" } })]);
    },
    applianceArgs: ["--public-url", "http://boot.test"],
  });
  ({ cp, app } = kube);
}, 120_000);

afterAll(async () => {
  await kube?.stop();
});

test("the API server refuses a switch with nothing to serve, with the schema's message", async () => {
  const response = await cp.request("POST", GROUP_PATH, switchConfig("empty", { serialNumber: "SN-EMPTY" }));
  expect(response.status).toBe(422);
  expect(response.text).toContain("must name at least one thing to serve");
});

test("Ready and IdentifiersUnique appear; the twin that lost the serial is Error with the conflict", async () => {
  await eventually(async () => (await state("leaf-1")) === "Ready", "leaf-1 Ready");
  expect(await condition("leaf-1", "IdentifiersUnique")).toMatchObject({ status: "True", reason: "NoConflict" });
  expect(await condition("leaf-1", "IgnitionWarnings")).toBeUndefined();
  await eventually(async () => (await state("twin-b")) === "Error", "twin-b Error");
  expect(await condition("twin-b", "IdentifiersUnique")).toMatchObject({
    status: "False",
    reason: "IdentifierConflict",
    message: expect.stringContaining("all claim serial SN-TWIN; switches/twin-a is served"),
  });
  expect(await condition("twin-a", "IdentifiersUnique")).toMatchObject({ status: "True", reason: "IdentifierContested" });
});

test("each ZTP fetch records its condition with the requester and the versions the switch reported", async () => {
  const cumulus = await fetch(`${app.url}/ztp/cumulus`, { headers: { "CUMULUS-MGMT-MAC": "44:38:39:00:00:04", "CUMULUS-VERSION": "5.9.1" } });
  expect(cumulus.status).toBe(200);
  const sonic = await fetch(`${app.url}/ztp/sonic/ztp.json`, { headers: { "SERIAL-NUMBER": "SN-LEAF-1", "SONiC-VERSION": "SONiC.202311.1" } });
  expect(sonic.status).toBe(200);
  const onie = await fetch(`${app.url}/ztp/onie/onie-installer`, {
    redirect: "manual",
    headers: { "ONIE-SERIAL-NUMBER": "SN-LEAF-1", "ONIE-VERSION": "2019.11" },
  });
  expect({ status: onie.status, location: onie.headers.get("location") }).toEqual({ status: 302, location: "http://files.example/nos-installer.bin" });
  const fetched = await eventually(async () => {
    const [script, config, installer] = await Promise.all([
      condition("leaf-1", "ProvisioningScriptFetched"),
      condition("leaf-1", "ZTPConfigFetched"),
      condition("leaf-1", "ONIEInstallerFetched"),
    ]);
    return script && config && installer && { script, config, installer };
  }, "the three *Fetched conditions on leaf-1");
  expect({ status: fetched.script.status, reason: fetched.script.reason }).toEqual({ status: "True", reason: "ProvisioningScriptDelivered" });
  expect(fetched.script.message).toContain("delivered to the client 127.0.0.1");
  expect(fetched.script.message).toContain("protocol cumulus, CUMULUS-MGMT-MAC 44:38:39:00:00:04, CUMULUS-VERSION 5.9.1");
  expect(fetched.config).toMatchObject({ reason: "ZTPConfigDelivered", message: expect.stringContaining("SONiC-VERSION SONiC.202311.1") });
  expect(fetched.installer).toMatchObject({ reason: "ONIEInstallerDelivered", message: expect.stringContaining("ONIE-VERSION 2019.11") });
  // The reconciler's own conditions stay as they were.
  expect(await state("leaf-1")).toBe("Ready");
});

/** Specs both sides must judge alike: the CRD's CEL rules and the valibot schema come from one definition. */
const PARITY: { name: string; spec: Record<string, unknown>; rejects?: string; message?: string }[] = [
  { name: "serial + installer", spec: { serialNumber: "SN1", onie: { installerURL: "https://files.example/nos.bin" } } },
  { name: "MAC + script", spec: { macAddresses: ["aa:bb:cc:dd:ee:ff"], provisioningScriptSecretRef: { name: "s" } } },
  { name: "IP + startup-config", spec: { systemIPs: ["10.0.0.1"], startupConfigSecretRef: { name: "c" } } },
  { name: "an appliance path", spec: { serialNumber: "SN1", onie: { updaterURL: "/image?imageName=x&version=1&layerDigest=sha256:ab" } } },
  { name: "no identity", spec: { sonic: { ztpJSONSecretRef: { name: "z" } } }, rejects: "spec", message: "must name the switch" },
  { name: "a blank serial only", spec: { serialNumber: "  ", provisioningScriptSecretRef: { name: "s" } }, rejects: "spec", message: "must name the switch" },
  {
    name: "an empty installer only",
    spec: { serialNumber: "SN1", onie: { installerURL: "" } },
    rejects: "spec",
    message: "must name at least one thing to serve",
  },
  {
    name: "a tftp installer",
    spec: { serialNumber: "SN1", onie: { installerURL: "tftp://x/nos.bin" } },
    rejects: "spec.onie.installerURL",
    message: "must be an http:// or https:// URL",
  },
  {
    name: "a bad hostname",
    spec: { serialNumber: "SN1", hostname: "bad name", provisioningScriptSecretRef: { name: "s" } },
    rejects: "spec.hostname",
    message: "must be a host name",
  },
];

describe("API server and valibot agree on SwitchBootConfig", () => {
  PARITY.forEach((c, index) => {
    test(`${c.rejects ? "rejects" : "accepts"} ${c.name}`, async () => {
      const object = switchConfig(`parity-${index}`, c.spec);
      const response = await cp.request("POST", `${GROUP_PATH}?dryRun=All`, object);
      const parsed = parseBootResource(object);
      if (!c.rejects) {
        expect(response.status, response.text).toBe(201);
        expect(parsed.ok ? [] : parsed.problems).toEqual([]);
        return;
      }
      expect(response.status, response.text).toBe(422);
      expect(response.text).toContain(c.rejects);
      expect(response.text).toContain(c.message ?? "");
      expect(parsed.ok ? [] : parsed.problems.filter((problem) => problem.path === c.rejects).map((problem) => problem.message)).toEqual([
        expect.stringContaining(c.message ?? ""),
      ]);
    });
  });
});
