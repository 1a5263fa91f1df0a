// --registry-credentials-secret end to end: a token-auth registry with a private repository, the credentials in a
// kubernetes.io/dockerconfigjson Secret, and the translator resolving the private image once they are right.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS, METAL_CRD_PATHS } from "../harness/crds.ts";
import { PRIVATE_PREFIX, pushPxeOnlyImage, READER_USER, RegistryHarness, type TestImage } from "../harness/registry.ts";
import { eventually } from "../harness/wait.ts";

const NS = "creds";
const METAL = "/apis/metal.ironcore.dev/v1alpha1";
let cp: ControlPlane;
let registry: RegistryHarness;
let app: Appliance;
let image: TestImage;

function dockerConfigSecret(password: string) {
  const auth = Buffer.from(`${READER_USER.username}:${password}`).toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "pull", namespace: NS },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": Buffer.from(JSON.stringify({ auths: { [registry.host]: { auth } } })).toString("base64") },
  };
}

async function sbcCondition(): Promise<{ state?: string; validation?: { status: string; reason: string; message: string } }> {
  const object = (await cp.requestOk("GET", `${METAL}/namespaces/${NS}/serverbootconfigurations/private`)) as {
    status?: { state?: string; conditions?: { type: string; status: string; reason: string; message: string }[] };
  };
  return { state: object.status?.state, validation: object.status?.conditions?.find((c) => c.type === "ImageValidation") };
}

beforeAll(async () => {
  // Side by side: neither needs the other until the appliance starts.
  await Promise.all([
    (async () => {
      registry = await RegistryHarness.start({ tokenAuth: {} });
      image = await pushPxeOnlyImage(registry, `${PRIVATE_PREFIX}os`, "1.0");
    })(),
    (async () => {
      cp = await startControlPlane({ crdPaths: [...BOOT_CRD_PATHS, ...METAL_CRD_PATHS] });
    })(),
  ]);
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await cp.applyObjects([dockerConfigSecret("wrong-password")]);
  await cp.applyObjects([
    { apiVersion: "metal.ironcore.dev/v1alpha1", kind: "Server", metadata: { name: "srv" }, spec: { systemUUID: "51515151-0000-0000-0000-000000000001" } },
    {
      apiVersion: "metal.ironcore.dev/v1alpha1",
      kind: "ServerBootConfiguration",
      metadata: { name: "private", namespace: NS },
      spec: { serverRef: { name: "srv" }, image: image.reference },
    },
  ]);
  app = await startAppliance([
    "--source",
    "kube",
    "--kubeconfig",
    cp.kubeconfigPath,
    "--namespace",
    NS,
    "--translator-modes",
    "ipxe",
    "--allowed-registries",
    registry.host,
    "--insecure-registries",
    registry.host,
    "--registry-credentials-secret",
    `${NS}/pull`,
    // Re-read every second instead of every minute, so the rotation below is seen at once.
    "--registry-credentials-refresh",
    "1",
  ]);
  await app.waitReady(30_000);
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await cp?.stop();
  await registry?.stop();
});

test("wrong credentials → ImageResolutionFailed; the rotated Secret is picked up and the private image resolves", async () => {
  await eventually(async () => (await sbcCondition()).validation?.reason === "ImageResolutionFailed", "resolution failure with wrong credentials", {
    timeoutMs: 30_000,
    detail: sbcCondition,
  });
  expect((await sbcCondition()).validation?.message).toMatch(/unauthori[sz]ed|refused/i);
  await cp.applyObjects([dockerConfigSecret(READER_USER.password)]);
  // The loader re-reads every second (--registry-credentials-refresh 1); the translator retries failed images after
  // 2 s, 4 s, 8 s, … so the rotation is picked up by the second or third retry.
  await eventually(async () => (await sbcCondition()).validation?.status === "True", "private image resolved with rotated credentials", {
    timeoutMs: 40_000,
    detail: sbcCondition,
  });
  const log = await app.waitForLog((line) => line.msg === "registry credentials loaded" && JSON.stringify(line.registries).includes(registry.host), 1_000);
  expect(log.secret).toBe(`${NS}/pull`);
}, 90_000);
