// Kubernetes mode end to end: the compiled binary against a real etcd + kube-apiserver with our generated CRDs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import type { ControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";
import { type Condition, conditionOf, type KubeMode, kubeSourceArgs, startKubeMode, statusWritesSettled } from "../harness/kube-mode.ts";
import { eventually } from "../harness/wait.ts";
import { nextLeaseRenewal } from "./service-account.ts";

const NS = "boot";
const GROUP_PATH = `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}`;
const UUID_A = "11111111-2222-3333-4444-555555555555";
const UUID_B = "66666666-7777-8888-9999-000000000000";

interface StatusObject {
  metadata: { generation: number; resourceVersion: string; managedFields?: { manager: string; operation: string; subresource?: string }[] };
  status?: { state?: string; conditions?: Condition[] };
}

let kube: KubeMode | undefined;
let cp: ControlPlane;
let app: Appliance;

function ipxeConfig(name: string, uuid: string, secret: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "IPXEBootConfig",
    metadata: { name, namespace: NS },
    spec: {
      systemUUID: uuid,
      kernelURL: "http://files.example/vmlinuz",
      initrdURL: "http://files.example/initrd",
      ignitionSecretRef: { name: secret },
      ...extra,
    },
  };
}

function secret(name: string, stringData: Record<string, string>) {
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace: NS }, stringData };
}

async function getStatus(kind: "ipxebootconfigs" | "httpbootconfigs", name: string): Promise<StatusObject> {
  return (await cp.requestOk("GET", `${GROUP_PATH}/${kind}/${name}`)) as StatusObject;
}

/** The IPXEBootConfig status-write count once it stopped moving. */
const ipxeStatusWritesSettled = (): Promise<number> => statusWritesSettled(cp, "ipxebootconfigs", { timeoutMs: 15_000, intervalMs: 500 });

beforeAll(async () => {
  kube = await startKubeMode({
    crdPaths: BOOT_CRD_PATHS,
    namespace: NS,
    prepare: (controlPlane) =>
      controlPlane.applyObjects([secret("sa", { ignition: '{"ignition":{"version":"3.4.0"}}' }), ipxeConfig("machine-a", UUID_A, "sa")]),
    applianceArgs: ["--public-url", "http://boot.test"],
  });
  ({ cp, app } = kube);
}, 120_000);

afterAll(async () => {
  // app may be a restarted one (the restart test replaces it): stop that one, then the control plane.
  await app?.stop();
  await kube?.cp.stop();
});

describe("API server validation (CRDs generated from the valibot schemas; every rule: crd-validation.test.ts)", () => {
  test.each([
    [{ systemUUID: "not-a-uuid" }, "spec.systemUUID: Invalid value", "must be a UUID"],
    [{ kernelURL: "s3://x/vmlinuz" }, "spec.kernelURL", "must be a URL iPXE can fetch"],
    [{ initrdURL: undefined }, "spec.initrdURL: Required value", "is required unless ipxeScriptSecretRef names a custom iPXE script"],
  ])("rejects %j with a clear message", async (override, field, message) => {
    const object = ipxeConfig("invalid", UUID_B, "sa");
    Object.assign(object.spec, override);
    if ("initrdURL" in override && override.initrdURL === undefined) delete (object.spec as Record<string, unknown>).initrdURL;
    const response = await cp.request("POST", `${GROUP_PATH}/ipxebootconfigs`, object);
    expect(response.status).toBe(422);
    expect(response.text).toContain(field);
    expect(response.text).toContain(message);
  });
});

describe("serving from the API server", () => {
  test("an existing config is served after the first sync", async () => {
    const response = await fetch(`${app.url}/ignition/${UUID_A}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"ignition":{"version":"3.4.0"}}');
  });

  test("created → served, updated → new answer, deleted → 404", async () => {
    await cp.applyObjects([secret("sb", { ignition: '{"ignition":{"version":"3.3.0"}}' }), ipxeConfig("machine-b", UUID_B, "sb")]);
    await eventually(async () => (await fetch(`${app.url}/ipxe/${UUID_B}`)).status === 200, "machine-b served");
    await cp.requestOk("PATCH", `${GROUP_PATH}/ipxebootconfigs/machine-b`, { spec: { kernelURL: "http://files.example/vmlinuz-2" } });
    await eventually(async () => (await (await fetch(`${app.url}/ipxe/${UUID_B}`)).text()).includes("vmlinuz-2"), "updated kernel served");
    await cp.requestOk("DELETE", `${GROUP_PATH}/ipxebootconfigs/machine-b`);
    await eventually(async () => (await fetch(`${app.url}/ipxe/${UUID_B}`)).status === 404, "deleted config → 404");
  });
});

describe("status", () => {
  test("Ready with observedGeneration; missing secret → Error naming it; secret created → Ready", async () => {
    const ready = await eventually(async () => {
      const object = await getStatus("ipxebootconfigs", "machine-a");
      return object.status?.state === "Ready" ? object : undefined;
    }, "machine-a Ready");
    expect(conditionOf(ready, "Ready")).toMatchObject({ status: "True", observedGeneration: ready.metadata.generation });
    expect(conditionOf(ready, "IdentifiersUnique")?.status).toBe("True");

    await cp.applyObjects([ipxeConfig("machine-c", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "sc-missing")]);
    const error = await eventually(async () => {
      const object = await getStatus("ipxebootconfigs", "machine-c");
      return object.status?.state === "Error" ? object : undefined;
    }, "machine-c Error");
    expect(conditionOf(error, "Ready")).toMatchObject({ status: "False", reason: "SecretNotFound" });
    expect(conditionOf(error, "Ready")?.message).toContain(`ignition secret ${NS}/sc-missing`);

    await cp.applyObjects([secret("sc-missing", { ignition: '{"ignition":{"version":"3.4.0"}}' })]);
    await eventually(async () => (await getStatus("ipxebootconfigs", "machine-c")).status?.state === "Ready", "machine-c Ready after secret created");
  });

  test("a Butane error in the secret is an Error condition with the translator's message; fixing it → Ready", async () => {
    await cp.applyObjects([
      secret("sd", { format: "fcos", ignition: "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: relative/path\n" }),
      ipxeConfig("machine-d", "dddddddd-0000-0000-0000-000000000001", "sd"),
    ]);
    const error = await eventually(async () => {
      const object = await getStatus("ipxebootconfigs", "machine-d");
      return object.status?.state === "Error" ? object : undefined;
    }, "machine-d Error");
    expect(conditionOf(error, "Ready")?.reason).toBe("ButaneTranslationFailed");
    expect(conditionOf(error, "Ready")?.message).toContain("storage.files.0.path");
    const response = await fetch(`${app.url}/ignition/dddddddd-0000-0000-0000-000000000001`);
    expect(response.status).toBe(500);
    await cp.applyObjects([secret("sd", { format: "fcos", ignition: "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/motd\n" })]);
    await eventually(async () => (await getStatus("ipxebootconfigs", "machine-d")).status?.state === "Ready", "machine-d Ready after fix");
  });

  test("a UUID conflict is reported on the newer config only", async () => {
    // creationTimestamp has second resolution: machine-e must be created in a later second than machine-a.
    const machineA = (await cp.requestOk("GET", `${GROUP_PATH}/ipxebootconfigs/machine-a`)) as { metadata: { creationTimestamp: string } };
    const secondAfterA = Date.parse(machineA.metadata.creationTimestamp) + 1_000;
    await eventually(async () => Date.now() >= secondAfterA, "a second after machine-a's creationTimestamp", { timeoutMs: 2_000, intervalMs: 20 });
    await cp.applyObjects([ipxeConfig("machine-e", UUID_A, "sa")]);
    const loser = await eventually(async () => {
      const object = await getStatus("ipxebootconfigs", "machine-e");
      return conditionOf(object, "IdentifiersUnique")?.status === "False" ? object : undefined;
    }, "conflict on machine-e");
    expect(conditionOf(loser, "IdentifiersUnique")?.message).toContain(`${NS}/machine-a is served`);
    expect(loser.status?.state).toBe("Error");
    expect(conditionOf(await getStatus("ipxebootconfigs", "machine-a"), "IdentifiersUnique")?.status).toBe("True");
    await cp.requestOk("DELETE", `${GROUP_PATH}/ipxebootconfigs/machine-e`);
  });

  test("serving writes IPXEScriptFetched and IgnitionDataFetched with the client address", async () => {
    expect((await fetch(`${app.url}/ipxe/${UUID_A}`)).status).toBe(200);
    expect((await fetch(`${app.url}/ignition/${UUID_A}`)).status).toBe(200);
    const object = await eventually(async () => {
      const current = await getStatus("ipxebootconfigs", "machine-a");
      return conditionOf(current, "IPXEScriptFetched") && conditionOf(current, "IgnitionDataFetched") ? current : undefined;
    }, "fetched conditions");
    expect(conditionOf(object, "IPXEScriptFetched")).toMatchObject({ status: "True", reason: "IPXEScriptDelivered" });
    expect(conditionOf(object, "IgnitionDataFetched")?.message).toContain("delivered to the client 127.0.0.1");
    // The reconciler's conditions are still there: the two writers own different fields.
    expect(conditionOf(object, "Ready")?.status).toBe("True");
  });

  test("a burst of 500 ignition requests becomes a handful of status writes", async () => {
    const before = await ipxeStatusWritesSettled();
    const started = performance.now();
    const responses = await Promise.all(Array.from({ length: 500 }, () => fetch(`${app.url}/ignition/${UUID_A}`)));
    const elapsed = performance.now() - started;
    expect(responses.every((r) => r.status === 200)).toBe(true);
    // A fixed wait is the point: one flush interval (1 s) and a little, so the burst's writes (if any) have started.
    await Bun.sleep(1_200);
    const writes = (await ipxeStatusWritesSettled()) - before;
    console.log(`500 requests in ${Math.round(elapsed)} ms → ${writes} status writes`);
    // Coalesced per flush, and the same client re-recorded at most every 10 s: the previous test's fetch is recent,
    // so the whole burst may write nothing at all; the condition it would write is already there.
    expect(writes).toBeLessThanOrEqual(2);
    expect(conditionOf(await getStatus("ipxebootconfigs", "machine-a"), "IgnitionDataFetched")?.message).toContain("delivered to the client 127.0.0.1");
  });

  test("a machine that keeps asking is recorded while it asks, in one write, not once it stops", async () => {
    const UUID_S = "abababab-0000-4000-8000-000000000005";
    await cp.applyObjects([ipxeConfig("machine-s", UUID_S, "sa")]);
    await eventually(async () => conditionOf(await getStatus("ipxebootconfigs", "machine-s"), "Ready")?.status === "True", "machine-s ready");
    const before = await ipxeStatusWritesSettled();
    // Asking every 100 ms for 6 s: each ask used to extend the write's quiet-second wait, up to its 10 s bound.
    const asking = (async () => {
      const stopAt = performance.now() + 6_000;
      while (performance.now() < stopAt) {
        expect((await fetch(`${app.url}/ipxe/${UUID_S}`)).status).toBe(200);
        await Bun.sleep(100);
      }
    })();
    let stillAsking = true;
    void asking.finally(() => {
      stillAsking = false;
    });
    const recordedWhileAsking = await eventually(
      async () => (conditionOf(await getStatus("ipxebootconfigs", "machine-s"), "IPXEScriptFetched") ? { stillAsking } : undefined),
      "IPXEScriptFetched on machine-s",
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    await asking;
    expect(recordedWhileAsking.stillAsking).toBe(true);
    // Every later ask repeats the recorded one (same client, within the rewrite interval): nothing more is written.
    expect((await ipxeStatusWritesSettled()) - before).toBe(1);
    await cp.requestOk("DELETE", `${GROUP_PATH}/ipxebootconfigs/machine-s`);
  });
});

describe("restart", () => {
  async function resourceVersions(): Promise<Record<string, string>> {
    const versions: Record<string, string> = {};
    for (const kind of ["ipxebootconfigs", "httpbootconfigs"] as const) {
      const list = (await cp.requestOk("GET", `${GROUP_PATH}/${kind}`)) as { items: { metadata: { name: string; resourceVersion: string } }[] };
      for (const item of list.items) versions[`${kind}/${item.metadata.name}`] = item.metadata.resourceVersion;
    }
    return versions;
  }

  test("a restart over objects whose status is already right writes nothing", async () => {
    await ipxeStatusWritesSettled();
    const before = await resourceVersions();
    expect(Object.keys(before).length).toBeGreaterThan(0);
    await app.stop();
    app = await startAppliance(kubeSourceArgs(cp, NS, "--public-url", "http://boot.test"));
    await app.waitReady(30_000);
    // A config created after the restart is reconciled behind the start-up pass over the existing ones: once its
    // status is written, that pass is over.
    await cp.applyObjects([ipxeConfig("machine-restart-probe", "5d1f0a3e-0000-4000-8000-00000000e5a1", "sa")]);
    await eventually(
      async () => conditionOf(await getStatus("ipxebootconfigs", "machine-restart-probe"), "Ready")?.status === "True",
      "probe config reconciled",
    );
    await ipxeStatusWritesSettled();
    const after = await resourceVersions();
    delete after["ipxebootconfigs/machine-restart-probe"];
    expect(after).toEqual(before);
    await cp.requestOk("DELETE", `${GROUP_PATH}/ipxebootconfigs/machine-restart-probe`);
  });

  test("a start-up write-out's first-Ready Events follow its statuses, none lost", async () => {
    const names = Array.from({ length: 60 }, (_, i) => `writeout-${i}`);
    await app.stop();
    await Promise.all(names.map((name, i) => cp.applyObjects([ipxeConfig(name, `eeeeeeee-0000-4000-8000-${i.toString(16).padStart(12, "0")}`, "sa")])));
    app = await startAppliance(kubeSourceArgs(cp, NS, "--public-url", "http://boot.test"));
    await app.waitReady(30_000);
    type Listed = { items: { metadata: { name: string; resourceVersion: string }; status?: { state?: string } }[] };
    const written = async () =>
      ((await cp.requestOk("GET", `${GROUP_PATH}/ipxebootconfigs`)) as Listed).items.filter((item) => item.metadata.name.startsWith("writeout-"));
    await eventually(async () => (await written()).every((item) => item.status?.state === "Ready"), "every write-out config Ready", 30_000);
    await ipxeStatusWritesSettled();
    type Events = { items: { reason: string; involvedObject: { name: string }; metadata: { resourceVersion: string } }[] };
    const readyEvents = async () =>
      ((await cp.requestOk("GET", `/api/v1/namespaces/${NS}/events`)) as Events).items.filter(
        (event) => event.reason === "BootConfigReady" && event.involvedObject.name.startsWith("writeout-"),
      );
    await eventually(async () => (await readyEvents()).length === names.length, "one BootConfigReady Event per config", 30_000);
    // Both are etcd revisions of one store, so they order the writes: every Event went out after the last status.
    const lastStatus = Math.max(...(await written()).map((item) => Number(item.metadata.resourceVersion)));
    const firstEvent = Math.min(...(await readyEvents()).map((event) => Number(event.metadata.resourceVersion)));
    expect(firstEvent).toBeGreaterThan(lastStatus);
    await Promise.all(names.map((name) => cp.requestOk("DELETE", `${GROUP_PATH}/ipxebootconfigs/${name}`)));
  }, 90_000);
});

describe("status under churn", () => {
  test("a burst of 100 new configs (while status events are flowing) all get their status", async () => {
    const names = Array.from({ length: 100 }, (_, i) => `burst-${i}`);
    // Interleave creations so watch events for new objects and status-only events arrive inside one coalescing window.
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(
        names.slice(i, i + 10).map((name, j) => cp.applyObjects([ipxeConfig(name, `bbbbbbbb-0000-0000-0000-${(i + j).toString(16).padStart(12, "0")}`, "sa")])),
      );
    }
    await eventually(
      async () => {
        const list = (await cp.requestOk("GET", `${GROUP_PATH}/ipxebootconfigs`)) as { items: { metadata: { name: string }; status?: { state?: string } }[] };
        const missing = list.items
          .filter((item) => item.metadata.name.startsWith("burst-") && item.status?.state !== "Ready")
          .map((item) => item.metadata.name);
        if (missing.length > 0) throw new Error(`not Ready yet: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` (+${missing.length - 5})` : ""}`);
        return true;
      },
      "all 100 burst configs Ready",
      30_000,
    );
    await Promise.all(names.map((name) => cp.requestOk("DELETE", `${GROUP_PATH}/ipxebootconfigs/${name}`)));
  }, 90_000);
});

describe("API server outage", () => {
  test("requests are answered from cache while the API server is down; later changes show up", async () => {
    await cp.stopApiServer();
    // A fixed pace is the point: the cache keeps answering for a while into the outage, not just at its start.
    for (let i = 0; i < 5; i++) {
      expect((await fetch(`${app.url}/ignition/${UUID_A}`)).status).toBe(200);
      await Bun.sleep(200);
    }
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    await cp.startApiServer();
    await cp.applyObjects([
      secret("sf", { ignition: '{"ignition":{"version":"3.4.0"},"after":"restart"}' }),
      ipxeConfig("machine-f", "ffffffff-0000-0000-0000-000000000001", "sf"),
    ]);
    await eventually(
      async () => (await fetch(`${app.url}/ignition/ffffffff-0000-0000-0000-000000000001`)).status === 200,
      "change after restart served",
      60_000,
    );
  }, 120_000);
});

describe("leader election", () => {
  test("with two replicas, one reconciles and both serve; the lease moves on shutdown", async () => {
    const args = ["--source", "kube", "--kubeconfig", cp.kubeconfigPath, "--namespace", NS, "--leader-elect"];
    const first = await startAppliance(args, { env: { POD_NAME: "replica-1" } });
    const second = await startAppliance(args, { env: { POD_NAME: "replica-2" } });
    try {
      await first.waitReady(30_000);
      await second.waitReady(30_000);
      const leaderLog = await Promise.race([
        first.waitForLog((l) => l.msg === "became leader", 30_000).then(() => "replica-1"),
        second.waitForLog((l) => l.msg === "became leader", 30_000).then(() => "replica-2"),
      ]);
      // Once the leader has renewed, the start-up race for the Lease is long over: still exactly one leader?
      await nextLeaseRenewal(cp, NS);
      const leaders = [first, second].filter((replica) => replica.logs.some((l) => l.msg === "became leader"));
      expect(leaders).toHaveLength(1);
      // Both serve.
      for (const replica of [first, second]) expect((await fetch(`${replica.url}/ignition/${UUID_A}`)).status).toBe(200);
      const lease = (await cp.requestOk("GET", `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/boot-operator-leader`)) as {
        spec: { holderIdentity: string };
      };
      expect(lease.spec.holderIdentity).toBe(leaderLog);
      // The leader reconciles: a new config with a missing secret gets its Error status.
      await cp.applyObjects([ipxeConfig("machine-g", "99999999-0000-0000-0000-000000000001", "sg-missing")]);
      await eventually(async () => (await getStatus("ipxebootconfigs", "machine-g")).status?.state === "Error", "leader reconciled machine-g");
      // Stopping the leader releases the lease; the other replica takes over well before the lease would expire.
      const [leader, follower] = leaderLog === "replica-1" ? [first, second] : [second, first];
      const stopped = Date.now();
      expect(await leader.stop()).toBe(0);
      await follower.waitForLog((l) => l.msg === "became leader", 10_000);
      expect(Date.now() - stopped).toBeLessThan(10_000);
    } finally {
      await first.stop();
      await second.stop();
    }
  }, 120_000);
});

describe("stalled watch", () => {
  /** The kube-apiserver process of this control plane, found by its --secure-port. */
  async function apiServerPid(): Promise<number> {
    const port = new URL(cp.serverUrl).port;
    for (const pid of cp.runningPids()) {
      const cmdline = (await Bun.file(`/proc/${pid}/cmdline`).text()).split("\0");
      if (cmdline[0]?.endsWith("kube-apiserver") && cmdline.includes(`--secure-port=${port}`)) return pid;
    }
    throw new Error("kube-apiserver pid not found");
  }

  test("a watch that goes silent (frozen API server) is detected and restarted; changes flow again", async () => {
    const replica = await startAppliance(kubeSourceArgs(cp, NS, "--watch-stall-timeout", "2"));
    try {
      await replica.waitReady(30_000);
      const pid = await apiServerPid();
      process.kill(pid, "SIGSTOP"); // connections stay open but nothing arrives: exactly a dead watch
      try {
        const line = await replica.waitForLog((l) => String(l.error ?? "").includes("silent for"), 15_000);
        expect(line.msg).toBe("watch interrupted; serving from cache meanwhile");
        expect((await fetch(`${replica.url}/ignition/${UUID_A}`)).status).toBe(200);
      } finally {
        process.kill(pid, "SIGCONT");
      }
      await cp.applyObjects([
        secret("sh", { ignition: '{"ignition":{"version":"3.4.0"}}' }),
        ipxeConfig("machine-h", "12121212-0000-0000-0000-000000000001", "sh"),
      ]);
      await eventually(
        async () => (await fetch(`${replica.url}/ipxe/12121212-0000-0000-0000-000000000001`)).status === 200,
        "change after stall served",
        30_000,
      );
    } finally {
      await replica.stop();
    }
  }, 90_000);
});
