// Kubernetes mode with --ignition-access bound and --token-secret, against a real API server: a contested script
// fetch and a refused Ignition fetch become IgnitionTokenContested / IgnitionDenied Warning Events on the config;
// a new value in annotation boot.ironcore.dev/rearm-token opens a new window; a second replica with the same
// Secret verifies the first one's token (tokens need no shared state, only the key).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";
import { requestFrom, tokenInScript } from "../harness/source-address.ts";
import { eventually } from "../harness/wait.ts";

const NS = "ignition-access";
const UUID = "44444444-0000-4000-8000-000000000001";
const RAW = '{"ignition":{"version":"3.4.0"}}';
const CONFIG_PATH = `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}/ipxebootconfigs/machine`;

let cp: ControlPlane;
let first: Appliance;
let second: Appliance;

interface EventObject {
  reason: string;
  type: string;
  message: string;
  involvedObject: { kind: string; name: string; uid?: string };
}

async function eventsOf(reason: string): Promise<EventObject[]> {
  const list = (await cp.requestOk("GET", `/api/v1/namespaces/${NS}/events`)) as { items: EventObject[] };
  return list.items.filter((event) => event.reason === reason && event.involvedObject.name === "machine");
}

async function scriptToken(app: Appliance, from: string): Promise<string | null> {
  const script = await requestFrom(app.url, `/ipxe/${UUID}`, from);
  expect(script.status).toBe(200);
  return tokenInScript(script.body);
}

beforeAll(async () => {
  cp = await startControlPlane({ crdPaths: BOOT_CRD_PATHS });
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await cp.applyObjects([
    { apiVersion: "v1", kind: "Secret", metadata: { name: "ign", namespace: NS }, stringData: { ignition: RAW } },
    { apiVersion: "v1", kind: "Secret", metadata: { name: "token-keys", namespace: NS }, stringData: { current: "k".repeat(48) } },
    {
      apiVersion: "boot.ironcore.dev/v1alpha1",
      kind: "IPXEBootConfig",
      metadata: { name: "machine", namespace: NS },
      spec: { systemUUID: UUID, kernelURL: "http://files.example/vmlinuz", initrdURL: "http://files.example/initrd", ignitionSecretRef: { name: "ign" } },
    },
  ]);
  const args = ["--source", "kube", "--kubeconfig", cp.kubeconfigPath, "--namespace", NS, "--public-url", "http://boot.test"];
  const bound = ["--ignition-access", "bound", "--token-secret", `${NS}/token-keys`];
  first = await startAppliance([...args, ...bound], { env: { POD_NAME: "replica-1" } });
  // The second replica only serves (no status writes of its own to race the first one's).
  second = await startAppliance([...args, ...bound, "--controllers", "-ipxebootconfig,-httpbootconfig"], { env: { POD_NAME: "replica-2" } });
  await first.waitReady(30_000);
  await second.waitReady(30_000);
}, 120_000);

afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await cp?.stop();
});

describe("--ignition-access bound in Kubernetes mode", () => {
  test("keys come from the Secret; a token from one replica is accepted by the other", async () => {
    expect(first.logs.some((line) => line.msg === "boot token keys loaded" && line.secret === `${NS}/token-keys`)).toBe(true);
    const token = await scriptToken(first, "127.0.0.1");
    expect(token).not.toBeNull();
    expect(await requestFrom(second.url, `/ignition/${UUID}?token=${token}`, "127.0.0.1")).toEqual({ status: 200, body: RAW });
  });

  test("a script fetch from another address raises an IgnitionTokenContested Warning Event on the config", async () => {
    expect(await scriptToken(first, "127.0.0.7")).toBeNull();
    const [event] = await eventually(async () => {
      const found = await eventsOf("IgnitionTokenContested");
      return found.length > 0 ? found : undefined;
    }, "IgnitionTokenContested event");
    expect(event).toMatchObject({ type: "Warning", involvedObject: { kind: "IPXEBootConfig", name: "machine" } });
    expect(event?.message).toContain("127.0.0.7");
    expect(event?.message).toContain("127.0.0.1 holds");
    const config = (await cp.requestOk("GET", CONFIG_PATH)) as { metadata: { uid: string } };
    expect(event?.involvedObject.uid).toBe(config.metadata.uid);
  });

  test("a refused Ignition fetch raises one IgnitionDenied Warning Event, not one per request", async () => {
    for (let i = 0; i < 5; i++) expect((await requestFrom(first.url, `/ignition/${UUID}`, "127.0.0.7")).status).toBe(403);
    // Another reason is its own event; once it is there, any events the five refusals caused were written before it.
    expect((await requestFrom(first.url, `/ignition/${UUID}?token=abc.def`, "127.0.0.7")).status).toBe(403);
    const events = await eventually(async () => {
      const found = await eventsOf("IgnitionDenied");
      return found.some((event) => event.message.includes("token-invalid")) ? found : undefined;
    }, "IgnitionDenied events");
    const noToken = events.filter((event) => event.message.includes("no-token"));
    expect(noToken).toHaveLength(1);
    expect(noToken[0]?.message).toBe("Ignition fetch from 127.0.0.7 refused: no-token");
  });

  test("rotating the Secret (new current, old previous) keeps old tokens valid; dropping previous voids them", async () => {
    // The window's holder (the first test) gets its token again.
    const old = await scriptToken(first, "127.0.0.1");
    expect(old).not.toBeNull();
    const rotate = async (data: Record<string, string>, keys: number): Promise<void> => {
      const loads = first.logs.filter((line) => line.msg === "boot token keys loaded").length;
      await cp.requestOk("PUT", `/api/v1/namespaces/${NS}/secrets/token-keys`, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "token-keys", namespace: NS },
        stringData: data,
      });
      await first.waitForLog(
        (line) => line.msg === "boot token keys loaded" && line.keys === keys && first.logs.filter((l) => l.msg === "boot token keys loaded").length > loads,
      );
    };
    await rotate({ current: "n".repeat(48), previous: "k".repeat(48) }, 2);
    expect((await requestFrom(first.url, `/ignition/${UUID}?token=${old}`, "127.0.0.7")).status).toBe(200);
    await rotate({ current: "n".repeat(48) }, 1);
    expect((await requestFrom(first.url, `/ignition/${UUID}?token=${old}`, "127.0.0.7")).body).toStartWith("ignition access denied: token-invalid");
  });

  test("a new value in annotation boot.ironcore.dev/rearm-token opens a new window and voids the old token", async () => {
    const old = await scriptToken(first, "127.0.0.1");
    expect(old).not.toBeNull();
    await cp.requestOk("PATCH", CONFIG_PATH, { metadata: { annotations: { "boot.ironcore.dev/rearm-token": "2026-12-02T00:00:00Z" } } });
    const fresh = await eventually(async () => scriptToken(first, "127.0.0.7"), "a token for 127.0.0.7 after the re-arm");
    expect(fresh).not.toBe(old);
    expect((await requestFrom(first.url, `/ignition/${UUID}?token=${old}`, "127.0.0.1")).body).toStartWith("ignition access denied: token-stale-generation");
    expect((await requestFrom(first.url, `/ignition/${UUID}?token=${fresh}`, "127.0.0.7")).status).toBe(200);
  });
});
