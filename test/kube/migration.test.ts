// Taking over a fleet from the Go operator, against a real etcd + kube-apiserver. The cluster is set up the way a
// migrated one is: objects created under the Go operator's looser CRD (test/crds/*.go-operator.yaml), some of which
// fail our validation, with the status the Go operator left (state Ready, written by its field manager "manager");
// then our CRDs are installed over it (as an upgrade does; the API server ratchets validation, so unchanged invalid
// fields stay) and the appliance starts. Our own CRD would reject such objects at admission, hence this route.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { type ControlPlane, startControlPlane, statusAppliesTo } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS, GO_OPERATOR_CRD_PATHS } from "../harness/crds.ts";
import { eventually } from "../harness/wait.ts";

const NS = "fleet";
const GROUP_PATH = `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}`;
const API_VERSION = "boot.ironcore.dev/v1alpha1";
/** controller-runtime's default field manager: the Go operator's binary is called "manager". */
const GO_MANAGER = "manager";
const FIXED_UUID = "0badc0de-0000-4000-8000-000000000001";

type Plural = "ipxebootconfigs" | "httpbootconfigs";

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}
interface StatusObject {
  metadata: { generation: number };
  status?: { state?: string; conditions?: Condition[] };
}
interface KubeEvent {
  type: string;
  reason: string;
  message: string;
  involvedObject: { kind: string; name: string };
}

let cp: ControlPlane;
let app: Appliance;

function ipxe(name: string, spec: Record<string, unknown>) {
  return { apiVersion: API_VERSION, kind: "IPXEBootConfig", metadata: { name, namespace: NS }, spec };
}

function secret(name: string, stringData: Record<string, string>) {
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace: NS }, stringData };
}

async function getStatus(plural: Plural, name: string): Promise<StatusObject> {
  return (await cp.requestOk("GET", `${GROUP_PATH}/${plural}/${name}`)) as StatusObject;
}

function condition(object: StatusObject, type: string): Condition | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

/** What the Go operator writes: a merge patch of status.state under its own field manager. */
async function goOperatorStatus(plural: Plural, name: string, state: string): Promise<void> {
  await cp.requestOk("PATCH", `${GROUP_PATH}/${plural}/${name}/status?fieldManager=${GO_MANAGER}`, { status: { state } });
}

async function eventsFor(name: string): Promise<KubeEvent[]> {
  const list = (await cp.requestOk("GET", `/api/v1/namespaces/${NS}/events`)) as { items: KubeEvent[] };
  return list.items.filter((event) => event.involvedObject.name === name);
}

beforeAll(async () => {
  cp = await startControlPlane({ crdPaths: GO_OPERATOR_CRD_PATHS });
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await cp.applyObjects([
    secret("ign", { ignition: '{"ignition":{"version":"3.4.0"}}' }),
    secret("script", { "ipxe-script": "#!ipxe\nchain http://boot.example/next\n" }),
    // Fine for the Go CRD, invalid for ours:
    ipxe("bad-uuid", {
      systemUUID: "abc",
      kernelURL: "http://files.example/vmlinuz",
      initrdURL: "http://files.example/initrd",
      ignitionSecretRef: { name: "ign" },
    }),
    ipxe("script-only", { systemUUID: "0badc0de-0000-4000-8000-000000000002", kernelURL: "dummy", initrdURL: "", ipxeScriptSecretRef: { name: "script" } }),
    {
      apiVersion: API_VERSION,
      kind: "HTTPBootConfig",
      metadata: { name: "http-bad-uuid", namespace: NS },
      spec: { systemUUID: "abc", ukiURL: "http://files.example/uki.efi" },
    },
  ]);
  for (const name of ["bad-uuid", "script-only"]) await goOperatorStatus("ipxebootconfigs", name, "Ready");
  await goOperatorStatus("httpbootconfigs", "http-bad-uuid", "Ready");
  // The upgrade: our CRDs replace the Go operator's; the objects stay as they are.
  await cp.applyManifests(BOOT_CRD_PATHS);
  app = await startAppliance(["--source", "kube", "--kubeconfig", cp.kubeconfigPath, "--namespace", NS, "--public-url", "http://boot.test"]);
  await app.waitReady(30_000);
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await cp?.stop();
});

describe("objects created under the Go CRD that fail our validation", () => {
  test.each([
    ["ipxebootconfigs", "bad-uuid", 'spec.systemUUID: must be a UUID like 4c4c4544-0042-3510-8052-b4c04f4a4e31 (got "abc")'],
    [
      "ipxebootconfigs",
      "script-only",
      'spec.kernelURL: must be a URL iPXE can fetch (http, https, tftp, tftm, mtftp, ftp, slam, nfs, file:), or a path starting with / served by this appliance (got "dummy")',
    ],
    ["httpbootconfigs", "http-bad-uuid", 'spec.systemUUID: must be a UUID like 4c4c4544-0042-3510-8052-b4c04f4a4e31 (got "abc")'],
  ] as const)("%s %s: the stale Ready becomes Error, Ready=False/InvalidSpec naming the field, and a Warning Event", async (plural, name, message) => {
    const object = await eventually(async () => {
      const current = await getStatus(plural, name);
      return current.status?.state === "Error" ? current : undefined;
    }, `${name} Error`);
    expect(condition(object, "Ready")).toMatchObject({ status: "False", reason: "InvalidSpec", observedGeneration: object.metadata.generation });
    expect(condition(object, "Ready")?.message).toContain(message);
    expect(condition(object, "Ready")?.message).toEndWith("not served until fixed");
    expect(condition(object, "IdentifiersUnique")).toMatchObject({ status: "Unknown", reason: "InvalidSpec" });
    const event = await eventually(async () => (await eventsFor(name)).find((e) => e.reason === "InvalidSpec"), `InvalidSpec event for ${name}`);
    expect(event.type).toBe("Warning");
    expect(event.message).toContain(message);
    // The Go operator's old write (its manager still named in managedFields) is history, not a fight.
    expect((await eventsFor(name)).filter((e) => e.reason === "StatusFightDetected")).toEqual([]);
  });

  test("fixing the field: the config is served and its status returns to Ready", async () => {
    await eventually(async () => (await getStatus("ipxebootconfigs", "bad-uuid")).status?.state === "Error", "bad-uuid Error first");
    expect((await fetch(`${app.url}/ipxe/${FIXED_UUID}`)).status).toBe(404);
    await cp.requestOk("PATCH", `${GROUP_PATH}/ipxebootconfigs/bad-uuid`, { spec: { systemUUID: FIXED_UUID } });
    const ready = await eventually(async () => {
      const current = await getStatus("ipxebootconfigs", "bad-uuid");
      return current.status?.state === "Ready" ? current : undefined;
    }, "bad-uuid Ready after the fix");
    expect(condition(ready, "Ready")).toMatchObject({ status: "True", reason: "BootConfigServable", observedGeneration: ready.metadata.generation });
    expect(condition(ready, "IdentifiersUnique")?.status).toBe("True");
    expect((await fetch(`${app.url}/ipxe/${FIXED_UUID}`)).status).toBe(200);
    // The fetch is recorded the way the Go operator records it (type, status and reason).
    const fetched = await eventually(async () => condition(await getStatus("ipxebootconfigs", "bad-uuid"), "IPXEScriptFetched"), "IPXEScriptFetched");
    expect(fetched).toMatchObject({ status: "True", reason: "IPXEScriptDelivered" });
    expect(fetched.message).toStartWith("IPXE script has been successfully delivered to the client 127.0.0.1 at ");
  });
});

describe("another writer fighting over the status (the Go operator left running)", () => {
  test("a Warning Event names it, our writes back off instead of answering every flip, and the status is ours once it stops", async () => {
    const name = "contested";
    // Valid, but its ignition secret is missing: we say Error, the other writer keeps saying Ready.
    await cp.applyObjects([
      ipxe(name, {
        systemUUID: "0badc0de-0000-4000-8000-000000000003",
        kernelURL: "http://k/vmlinuz",
        initrdURL: "http://k/initrd",
        ignitionSecretRef: { name: "absent" },
      }),
    ]);
    await eventually(async () => (await getStatus("ipxebootconfigs", name)).status?.state === "Error", "contested Error");
    await eventually(async () => (await eventsFor(name)).some((e) => e.reason === "SecretNotFound"), "SecretNotFound event");
    const eventsBefore = (await eventsFor(name)).length;

    // The rival: server-side apply of state=Ready under another field manager, about 25 times a second.
    const before = await statusAppliesTo(cp, "ipxebootconfigs");
    let rivalRequests = 0;
    let flipsSeen = 0;
    let stopRival = false;
    const rival = (async () => {
      while (!stopRival) {
        const response = await cp.request(
          "PATCH",
          `${GROUP_PATH}/ipxebootconfigs/${name}/status?fieldManager=${GO_MANAGER}&force=true`,
          { apiVersion: API_VERSION, kind: "IPXEBootConfig", metadata: { name, namespace: NS }, status: { state: "Ready" } },
          { contentType: "application/apply-patch+yaml" },
        );
        rivalRequests++;
        if (response.status !== 200) throw new Error(`rival apply answered ${response.status}: ${response.text}`);
        await Bun.sleep(40); // the rival's pace, not a wait for a condition
      }
    })();
    const fightMs = 8_000;
    const started = Date.now();
    try {
      const event = await eventually(async () => (await eventsFor(name)).find((e) => e.reason === "StatusFightDetected"), "StatusFightDetected event", fightMs);
      expect(event.type).toBe("Warning");
      expect(event.message).toContain(`"${GO_MANAGER}"`);
      expect(event.message).toContain("owns status state");
      // Keep fighting for the rest of the window, watching the state flip.
      while (Date.now() - started < fightMs) {
        if ((await getStatus("ipxebootconfigs", name)).status?.state === "Error") flipsSeen++;
        await Bun.sleep(100);
      }
    } finally {
      stopRival = true;
      await rival;
    }
    const ours = (await statusAppliesTo(cp, "ipxebootconfigs")) - before - rivalRequests;
    console.log(`fight of ${fightMs} ms: rival sent ${rivalRequests} applies, we wrote ${ours} times; saw our state ${flipsSeen} times`);
    // Answering each flip at once would be one write per rival write (~200 here); backing off from 1 s doubling
    // means writes at about 0, 0, 1, 3 and 7 s.
    expect(rivalRequests).toBeGreaterThan(100);
    expect(ours).toBeGreaterThanOrEqual(2);
    expect(ours).toBeLessThanOrEqual(6);
    // One fight: one Event and one log line, not one per flip; no state-change Event per re-assertion either.
    const events = await eventsFor(name);
    expect(events.filter((e) => e.reason === "StatusFightDetected")).toHaveLength(1);
    expect(events.length - eventsBefore).toBe(1);
    const fightLogs = app.logs.filter((line) => line.msg === "status fight: another field manager keeps rewriting this config's status");
    expect(fightLogs).toHaveLength(1);
    expect(fightLogs[0]).toMatchObject({ config: `IPXEBootConfig ${NS}/${name}`, managers: [GO_MANAGER], fields: ["state"] });

    // The rival is gone: the next backed-off re-assertion makes the status ours again, and it stays.
    const object = await eventually(
      async () => {
        const current = await getStatus("ipxebootconfigs", name);
        return current.status?.state === "Error" ? current : undefined;
      },
      "our status back after the rival stopped",
      { timeoutMs: 40_000, intervalMs: 250 },
    );
    expect(condition(object, "Ready")).toMatchObject({ status: "False", reason: "SecretNotFound" });
  }, 90_000);
});
