// Real etcd + kube-apiserver (+ kube-controller-manager) from scripts/ensure/controlplane.sh.
// Missing binaries make these tests fail, never skip.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import * as v from "valibot";
import { type ControlPlane, type KubeObject, readManifestObjects, startControlPlane } from "../harness/controlplane.ts";
import { eventually, notYetUnless } from "../harness/wait.ts";

const group = "harness-test.boot.ironcore.dev";
const widgetCrd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: { type: integer, minimum: 1 }
`;

const WidgetSchema = v.looseObject({
  metadata: v.looseObject({ name: v.string(), namespace: v.string(), uid: v.string() }),
  spec: v.object({ size: v.number() }),
});

/** Start-up takes ~3-5 s; the controller-manager test also waits for two controllers. */
const testTimeoutMs = 120_000;

function widget(name: string, namespace: string, size: number): KubeObject {
  return { apiVersion: `${group}/v1alpha1`, kind: "Widget", metadata: { name, namespace }, spec: { size } };
}

const scratchDirectories: string[] = [];
const controlPlanes: ControlPlane[] = [];

async function scratchFile(name: string, content: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "controlplane-test-"));
  scratchDirectories.push(directory);
  const path = join(directory, name);
  await writeFile(path, content);
  return path;
}

async function startTracked(options: Parameters<typeof startControlPlane>[0]): Promise<ControlPlane> {
  const controlPlane = await startControlPlane(options);
  controlPlanes.push(controlPlane);
  return controlPlane;
}

/** Direct children of this test process, from /proc (catches anything the harness forgot to track). */
async function childPids(): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Fields after the parenthesised command name: state, ppid, ...
    const afterCommand = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(afterCommand[1]) === process.pid) children.push(Number(entry));
  }
  return children;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterEach(async () => {
  for (const controlPlane of controlPlanes.splice(0)) await controlPlane.stop();
});

afterAll(async () => {
  for (const directory of scratchDirectories.splice(0)) await rm(directory, { recursive: true, force: true });
});

describe("local control plane", () => {
  test(
    "stores custom objects in etcd across an apiserver restart and leaves no process behind",
    async () => {
      const crdPath = await scratchFile("widget-crd.yaml", widgetCrd);
      const controlPlane = await startTracked({ crdPaths: [crdPath] });
      expect(controlPlane.serverUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const componentPids = controlPlane.runningPids();
      expect(componentPids).toHaveLength(2);

      // One multi-document file: the namespace must be created before the widget that lives in it.
      const objectsPath = await scratchFile(
        "objects.yaml",
        `apiVersion: ${group}/v1alpha1
kind: Widget
metadata: { name: first, namespace: harness }
spec: { size: 3 }
---
apiVersion: v1
kind: Namespace
metadata: { name: harness }
`,
      );
      await controlPlane.applyManifests([objectsPath]);

      // Read back through client-node with the generated kubeconfig: exercises its TLS (CA + client cert) on Bun.
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(controlPlane.kubeconfigPath);
      const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
      const readWidget = async (): Promise<v.InferOutput<typeof WidgetSchema>> => {
        const raw: unknown = await customObjects.getNamespacedCustomObject({
          group,
          version: "v1alpha1",
          namespace: "harness",
          plural: "widgets",
          name: "first",
        });
        return v.parse(WidgetSchema, raw);
      };
      const created = await readWidget();
      expect(created.spec.size).toBe(3);
      const namespace = await kubeConfig.makeApiClient(CoreV1Api).readNamespace({ name: "harness" });
      expect(namespace.metadata?.name).toBe("harness");

      // Applying again replaces the object; the CRD schema is enforced by the real apiserver.
      await controlPlane.applyObjects([widget("first", "harness", 5)]);
      const widgetPath = `/apis/${group}/v1alpha1/namespaces/harness/widgets/first`;
      expect(v.parse(WidgetSchema, await controlPlane.requestOk("GET", widgetPath)).spec.size).toBe(5);
      const invalid = await controlPlane.request("PATCH", widgetPath, { spec: { size: 0 } });
      expect(invalid.status).toBe(422);

      await controlPlane.stopApiServer();
      expect(controlPlane.runningPids()).toHaveLength(1); // etcd only
      await expect(controlPlane.request("GET", "/readyz")).rejects.toThrow(/without a response/);

      await controlPlane.startApiServer();
      const afterRestart = await readWidget(); // same port, same CA: the existing KubeConfig still works
      expect(afterRestart.metadata.uid).toBe(created.metadata.uid);
      expect(afterRestart.spec.size).toBe(5);

      const allPids = controlPlane.runningPids();
      expect(allPids).toHaveLength(2);
      const directory = controlPlane.directory;
      await controlPlane.stop();
      expect(allPids.filter(isAlive)).toEqual([]);
      expect(await childPids()).toEqual([]);
      expect(await Bun.file(join(directory, "admin.kubeconfig")).exists()).toBe(false);
    },
    testTimeoutMs,
  );

  test(
    "with the controller manager: ownerReferences cascade and namespaces finish terminating",
    async () => {
      const crdPath = await scratchFile("widget-crd.yaml", widgetCrd);
      const controlPlane = await startTracked({ crdPaths: [crdPath], withControllerManager: true });
      expect(controlPlane.runningPids()).toHaveLength(3);

      await controlPlane.applyObjects([{ apiVersion: "v1", kind: "Namespace", metadata: { name: "cascade" } }, widget("owner", "cascade", 1)]);
      const widgetsPath = `/apis/${group}/v1alpha1/namespaces/cascade/widgets`;
      const owner = v.parse(WidgetSchema, await controlPlane.requestOk("GET", `${widgetsPath}/owner`));
      const ownerReference = { apiVersion: `${group}/v1alpha1`, kind: "Widget", name: "owner", uid: owner.metadata.uid };
      await controlPlane.requestOk("POST", "/api/v1/namespaces/cascade/configmaps", {
        metadata: { name: "dependent", ownerReferences: [ownerReference] },
        data: { key: "value" },
      });

      await controlPlane.requestOk("DELETE", `${widgetsPath}/owner`);
      await eventually(
        async () => {
          const response = await controlPlane.request("GET", "/api/v1/namespaces/cascade/configmaps/dependent");
          return notYetUnless(response.status === 404, `GET dependent: ${response.status}`);
        },
        "the garbage collector to delete the dependent ConfigMap",
        30_000,
      );

      await controlPlane.requestOk("DELETE", "/api/v1/namespaces/cascade");
      await eventually(
        async () => {
          const response = await controlPlane.request("GET", "/api/v1/namespaces/cascade");
          return notYetUnless(response.status === 404, `GET namespace: ${response.status}`);
        },
        "the namespace controller to finish deleting the namespace",
        30_000,
      );

      const allPids = controlPlane.runningPids();
      await controlPlane.stop();
      expect(allPids.filter(isAlive)).toEqual([]);
      expect(await childPids()).toEqual([]);
    },
    testTimeoutMs,
  );

  test("fails with a pointer to the ensure script when the binaries are missing", async () => {
    const previous = process.env.BOOT_OPERATOR_CONTROLPLANE_BIN_DIR;
    process.env.BOOT_OPERATOR_CONTROLPLANE_BIN_DIR = join(tmpdir(), "controlplane-binaries-that-do-not-exist");
    try {
      await expect(startControlPlane()).rejects.toThrow(/etcd not found in .*scripts\/ensure\/controlplane\.sh/);
    } finally {
      if (previous === undefined) delete process.env.BOOT_OPERATOR_CONTROLPLANE_BIN_DIR;
      else process.env.BOOT_OPERATOR_CONTROLPLANE_BIN_DIR = previous;
    }
  });
});

describe("readManifestObjects", () => {
  test("reads every document of a multi-document file, skips empty ones and flattens Lists", async () => {
    const path = await scratchFile(
      "many.yaml",
      `---
apiVersion: v1
kind: Namespace
metadata: { name: one }
---
# only a comment
---
apiVersion: v1
kind: ConfigMapList
items:
  - { apiVersion: v1, kind: ConfigMap, metadata: { name: a, namespace: one }, data: { mode: "0644" } }
  - { apiVersion: v1, kind: ConfigMap, metadata: { name: b, namespace: one } }
`,
    );
    const objects = await readManifestObjects(path);
    expect(objects.map((object) => `${object.kind}/${object.metadata.name}`)).toEqual(["Namespace/one", "ConfigMap/a", "ConfigMap/b"]);
    expect(objects[1]).toMatchObject({ data: { mode: "0644" } });
  });

  test("rejects documents that are not named objects, naming file and document", async () => {
    const path = await scratchFile("unnamed.yaml", "apiVersion: v1\nkind: Namespace\n---\nkind: Secret\n");
    await expect(readManifestObjects(path)).rejects.toThrow(/unnamed\.yaml: YAML document 1 .*metadata/);
  });

  test("reports YAML syntax errors with the document number", async () => {
    const path = await scratchFile("broken.yaml", "apiVersion: v1\nkind: Namespace\n---\nkind: [unclosed\n");
    await expect(readManifestObjects(path)).rejects.toThrow(/broken\.yaml: YAML document 2/);
  });
});
