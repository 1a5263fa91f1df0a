// Issue #16, Kubernetes mode, through the compiled binary against a real API server: a config in another namespace
// that claims a machine's UUID and carries the translator's active annotation must not take the machine's boot;
// neither may an old config edited to claim it, not even across a restart of the appliance. The translator's own,
// verified child still moves a machine (cluster scope), and with --claim-scope namespace nothing crosses namespaces.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS, METAL_CRD_PATHS } from "../harness/crds.ts";
import { eventually } from "../harness/wait.ts";

const BOOT = "/apis/boot.ironcore.dev/v1alpha1";
const METAL = "/apis/metal.ironcore.dev/v1alpha1";
const UUID_HIJACK = "5e1a0000-0000-4000-8000-000000000001";
const UUID_EDITED = "5e1a0000-0000-4000-8000-000000000002";
const UUID_MOVED = "5e1a0000-0000-4000-8000-000000000003";
const UUID_SCOPED = "5e1a0000-0000-4000-8000-000000000004";

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface ConfigObject {
  metadata: { generation: number };
  status?: { state?: string; conditions?: Condition[] };
}

let cp: ControlPlane;
let app: Appliance | undefined;

function ipxeConfig(namespace: string, name: string, uuid: string, kernel: string, metadata: Record<string, unknown> = {}) {
  return {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "IPXEBootConfig",
    metadata: { name, namespace, ...metadata },
    spec: {
      systemUUID: uuid,
      kernelURL: `http://images.example/${kernel}`,
      initrdURL: "http://images.example/initrd",
      ignitionSecretRef: { name: `${name}-ign` },
    },
  };
}

function ignitionSecret(namespace: string, name: string, key: string) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `${name}-ign`, namespace },
    stringData: { ignition: JSON.stringify({ ignition: { version: "3.4.0" }, passwd: { users: [{ name: "core", sshAuthorizedKeys: [key] }] } }) },
  };
}

async function machine(namespace: string, name: string, uuid: string, kernel: string, metadata: Record<string, unknown> = {}): Promise<void> {
  await cp.applyObjects([ignitionSecret(namespace, name, `ssh-ed25519 AAAA${name}`), ipxeConfig(namespace, name, uuid, kernel, metadata)]);
}

async function config(namespace: string, name: string): Promise<ConfigObject> {
  return (await cp.requestOk("GET", `${BOOT}/namespaces/${namespace}/ipxebootconfigs/${name}`)) as ConfigObject;
}

function condition(object: ConfigObject, type: string): Condition | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

/** The config's IdentifiersUnique condition once it says `status` with `reason` for its current generation. */
async function identifiersUnique(namespace: string, name: string, status: string, reason: string): Promise<Condition> {
  return eventually(async () => {
    const object = await config(namespace, name);
    const unique = condition(object, "IdentifiersUnique");
    if (unique?.status === status && unique.reason === reason) return unique;
    throw new Error(`${namespace}/${name}: ${JSON.stringify(object.status ?? null)}`);
  }, `${namespace}/${name} IdentifiersUnique=${status} (${reason})`);
}

async function kernelFor(uuid: string): Promise<string> {
  if (!app) throw new Error("no appliance running");
  const script = await (await fetch(`${app.url}/ipxe/${uuid}`)).text();
  return /kernel (\S+)/.exec(script)?.[1] ?? `(no kernel line in ${JSON.stringify(script)})`;
}

async function sshKeyFor(uuid: string): Promise<string> {
  if (!app) throw new Error("no appliance running");
  return (await (await fetch(`${app.url}/ignition/${uuid}`)).text()).match(/ssh-ed25519 \w+/)?.[0] ?? "(none)";
}

async function startServing(extra: string[] = []): Promise<Appliance> {
  // Cluster-wide (no --namespace), translator on: the SBC/Server watches that verify the translator's configs run.
  // Images of a registry not on the allow-list: the translator never resolves one (no network), it writes no child.
  const started = await startAppliance([
    "--source",
    "kube",
    "--kubeconfig",
    cp.kubeconfigPath,
    "--translator-modes",
    "ipxe",
    "--allowed-registries",
    "registry.invalid",
    ...extra,
  ]);
  await started.waitReady(30_000);
  return started;
}

/** A Server booting SBC metal/<sbcName> and a child config of that SBC as the translator writes it (owner ref by UID). */
async function translatedMachine(server: string, sbcName: string, uuid: string, kernel: string): Promise<void> {
  await cp.applyObjects([
    {
      apiVersion: "metal.ironcore.dev/v1alpha1",
      kind: "Server",
      metadata: { name: server },
      spec: { systemUUID: uuid, bootConfigurationRef: { name: sbcName, namespace: "metal" } },
    },
    {
      apiVersion: "metal.ironcore.dev/v1alpha1",
      kind: "ServerBootConfiguration",
      metadata: { name: sbcName, namespace: "metal" },
      spec: { serverRef: { name: server }, image: "quay.io/not-allowed/os:1", ignitionSecretRef: { name: `${sbcName}-ign` } },
    },
  ]);
  const sbc = (await cp.requestOk("GET", `${METAL}/namespaces/metal/serverbootconfigurations/${sbcName}`)) as { metadata: { uid: string } };
  const ownerReferences = [
    {
      apiVersion: "metal.ironcore.dev/v1alpha1",
      kind: "ServerBootConfiguration",
      name: sbcName,
      uid: sbc.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
  await machine("metal", sbcName, uuid, kernel, { ownerReferences, annotations: { "boot.ironcore.dev/active": "true" } });
}

beforeAll(async () => {
  cp = await startControlPlane({ crdPaths: [...BOOT_CRD_PATHS, ...METAL_CRD_PATHS] });
  for (const name of ["prod", "tenant", "metal"]) await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await cp?.stop();
});

describe("cluster scope", () => {
  beforeAll(async () => {
    app = await startServing();
  }, 60_000);

  test("a config in another namespace with the active annotation does not take the machine", async () => {
    await machine("prod", "victim", UUID_HIJACK, "victim-kernel");
    await eventually(async () => (await kernelFor(UUID_HIJACK)) === "http://images.example/victim-kernel", "victim served");
    await machine("tenant", "impostor", UUID_HIJACK, "impostor-kernel", { annotations: { "boot.ironcore.dev/active": "true" } });
    // The impostor is in the index once its status reports the conflict; then the answers must still be the victim's.
    const lost = await identifiersUnique("tenant", "impostor", "False", "IdentifierConflict");
    // The reason names the rule that decided: here the victim also sorts first, so holding it is not what decided
    // (naming the holder only when holding decides keeps the message, and so the status, stable across restarts).
    expect(lost.message).toContain("prod/victim is served, not tenant/impostor");
    expect((await config("tenant", "impostor")).status?.state).toBe("Error");
    expect(await kernelFor(UUID_HIJACK)).toBe("http://images.example/victim-kernel");
    expect(await sshKeyFor(UUID_HIJACK)).toBe("ssh-ed25519 AAAAvictim");
    // The holder's status names the contender: the conflict is real on both sides.
    const held = await identifiersUnique("prod", "victim", "True", "IdentifierContested");
    expect(held.message).toBe(`holds uuid ${UUID_HIJACK}; also claimed by tenant/impostor (not served)`);
    expect(condition(await config("prod", "victim"), "Ready")?.status).toBe("True");
  });

  test("an older config edited to claim the machine's UUID does not take it", async () => {
    await machine("tenant", "old", "5e1a0000-0000-4000-8000-0000000000ff", "old-kernel");
    // creationTimestamp has second resolution: the victim must be created in a later second to be clearly younger.
    const created = Date.parse(((await config("tenant", "old")) as ConfigObject & { metadata: { creationTimestamp: string } }).metadata.creationTimestamp);
    await eventually(async () => Date.now() >= created + 1000, "the next second");
    await machine("prod", "edited-victim", UUID_EDITED, "victim-kernel");
    await eventually(async () => (await kernelFor(UUID_EDITED)) === "http://images.example/victim-kernel", "victim served");
    await cp.requestOk("PATCH", `${BOOT}/namespaces/tenant/ipxebootconfigs/old`, { spec: { systemUUID: UUID_EDITED } });
    await identifiersUnique("tenant", "old", "False", "IdentifierConflict");
    expect(await kernelFor(UUID_EDITED)).toBe("http://images.example/victim-kernel");
    await identifiersUnique("prod", "edited-victim", "True", "IdentifierContested");
  });

  test("the translator's verified active config does move a machine (workload ↔ maintenance)", async () => {
    await machine("prod", "handmade", UUID_MOVED, "handmade-kernel");
    await eventually(async () => (await kernelFor(UUID_MOVED)) === "http://images.example/handmade-kernel", "hand-made served");
    await translatedMachine("server-moved", "workload-moved", UUID_MOVED, "translated-kernel");
    await eventually(async () => (await kernelFor(UUID_MOVED)) === "http://images.example/translated-kernel", "the translator's config served");
    const lost = await identifiersUnique("prod", "handmade", "False", "IdentifierConflict");
    expect(lost.message).toContain("metal/workload-moved is the translator's active config for its Server");
  });

  afterAll(async () => {
    await app?.stop();
    app = undefined;
  });
});

describe("after a restart of the appliance", () => {
  beforeAll(async () => {
    app = await startServing();
  }, 60_000);

  test("the holder recorded in status keeps the machine against the older, edited config", async () => {
    expect(await kernelFor(UUID_EDITED)).toBe("http://images.example/victim-kernel");
    expect(await kernelFor(UUID_HIJACK)).toBe("http://images.example/victim-kernel");
    expect(await identifiersUnique("tenant", "old", "False", "IdentifierConflict")).toBeDefined();
  });

  afterAll(async () => {
    await app?.stop();
    app = undefined;
  });
});

describe("--claim-scope namespace", () => {
  beforeAll(async () => {
    app = await startServing(["--claim-scope", "namespace"]);
  }, 60_000);

  test("no config takes an identifier another namespace holds, not even the translator's active one", async () => {
    await machine("prod", "scoped", UUID_SCOPED, "scoped-kernel");
    await eventually(async () => (await kernelFor(UUID_SCOPED)) === "http://images.example/scoped-kernel", "prod/scoped served");
    await machine("tenant", "intruder", UUID_SCOPED, "intruder-kernel", { annotations: { "boot.ironcore.dev/active": "true" } });
    await translatedMachine("server-scoped", "workload-scoped", UUID_SCOPED, "translated-kernel");
    for (const [namespace, name] of [
      ["tenant", "intruder"],
      ["metal", "workload-scoped"],
    ] as const) {
      const lost = await identifiersUnique(namespace, name, "False", "IdentifierConflict");
      expect(lost.message).toContain(`not ${namespace}/${name} (namespace prod holds it and --claim-scope is namespace)`);
    }
    expect(await kernelFor(UUID_SCOPED)).toBe("http://images.example/scoped-kernel");
    expect(await sshKeyFor(UUID_SCOPED)).toBe("ssh-ed25519 AAAAscoped");
  });
});
