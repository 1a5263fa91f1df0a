// The kustomize install rendered by kustomize itself (scripts/generate-manifests.ts implements only the subset
// manifests/default uses): dist/install.yaml is what kustomize prints, the cluster-wide overlay is the default
// install with the cluster-wide grants (and follows an image set on the default one), and the translator
// components add exactly the translator's RBAC and flag.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFile, cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type KubeManifest, REPO_ROOT, renderKustomization } from "../../scripts/generate-manifests.ts";
import { BOOT_CRDS } from "../../src/api/crds.ts";
import { envName, FLAGS } from "../../src/cli/flags.ts";
import { byKey, kustomizeBuild, objectKey, parseManifests } from "../harness/packaging.ts";

interface EnvVar {
  name: string;
  value?: string;
}
interface Deployment {
  spec: { template: { spec: { containers: { name: string; image: string; env: EnvVar[] }[] } } };
}

let copy: string;
let namespaced: KubeManifest[];
let clusterWide: KubeManifest[];

beforeAll(async () => {
  copy = await mkdtemp(join(tmpdir(), "boot-operator-kustomize-"));
  await cp(join(REPO_ROOT, "manifests"), join(copy, "manifests"), { recursive: true });
  [namespaced, clusterWide] = await Promise.all([
    kustomizeBuild(join(REPO_ROOT, "manifests/default")),
    kustomizeBuild(join(REPO_ROOT, "manifests/cluster-wide")),
  ]);
});
afterAll(async () => {
  await rm(copy, { recursive: true, force: true });
});

function mainContainer(manifests: readonly KubeManifest[]): Deployment["spec"]["template"]["spec"]["containers"][number] {
  const deployment = manifests.find((manifest) => manifest.kind === "Deployment" && manifest.metadata.name === "boot-operator") as
    | (KubeManifest & Deployment)
    | undefined;
  const container = deployment?.spec.template.spec.containers.find((candidate) => candidate.name === "boot-operator");
  if (!container) throw new Error("no Deployment boot-operator with a container boot-operator");
  return container;
}

function withoutDeployment(manifests: readonly KubeManifest[]): Map<string, KubeManifest> {
  const map = byKey(manifests);
  map.delete("Deployment boot-system/boot-operator");
  return map;
}

describe("manifests/default", () => {
  test("dist/install.yaml holds the objects kustomize renders (the generator's kustomize subset is faithful)", async () => {
    const generated = parseManifests(await Bun.file(join(REPO_ROOT, "dist/install.yaml")).text());
    expect(byKey(generated)).toEqual(byKey(namespaced));
    // And in kustomize's order (namespace, CRDs, RBAC, workload).
    expect(generated.map(objectKey)).toEqual(namespaced.map(objectKey));
  });

  test("aggregated edit and view ClusterRoles cover every boot.ironcore.dev kind", () => {
    const plurals = BOOT_CRDS.map((definition) => definition.plural).sort();
    const edit = byKey(namespaced).get("ClusterRole /boot-operator-edit");
    const view = byKey(namespaced).get("ClusterRole /boot-operator-view");
    expect(edit?.metadata.labels).toMatchObject({
      "rbac.authorization.k8s.io/aggregate-to-edit": "true",
      "rbac.authorization.k8s.io/aggregate-to-admin": "true",
    });
    expect(view?.metadata.labels).toMatchObject({ "rbac.authorization.k8s.io/aggregate-to-view": "true" });
    const rules = (role: KubeManifest | undefined): { resources: string[]; verbs: string[] }[] =>
      (role?.rules as { resources: string[]; verbs: string[] }[] | undefined) ?? [];
    const [editRule, editStatusRule] = rules(edit);
    expect([...(editRule?.resources ?? [])].sort()).toEqual(plurals);
    expect(editRule?.verbs).toEqual(["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]);
    // Status is the appliance's: readable by editors, never writable through these roles.
    expect(editStatusRule?.verbs).toEqual(["get"]);
    expect([...(editStatusRule?.resources ?? [])].sort()).toEqual(plurals.map((plural) => `${plural}/status`));
    expect(rules(view).flatMap((rule) => rule.verbs)).toEqual(["get", "list", "watch"]);
  });
});

describe("manifests/cluster-wide builds on manifests/default", () => {
  test("the same objects, with the ClusterRole + ClusterRoleBinding instead of the Role + RoleBinding", () => {
    const expected = withoutDeployment(namespaced);
    expected.delete("Role boot-system/boot-operator");
    expected.delete("RoleBinding boot-system/boot-operator");
    const actual = withoutDeployment(clusterWide);
    const clusterRole = actual.get("ClusterRole /boot-operator");
    const clusterRoleBinding = actual.get("ClusterRoleBinding /boot-operator");
    expect(clusterRole?.rules).toEqual(byKey(namespaced).get("Role boot-system/boot-operator")?.rules);
    expect(clusterRoleBinding?.subjects).toEqual([{ kind: "ServiceAccount", name: "boot-operator", namespace: "boot-system" }]);
    actual.delete("ClusterRole /boot-operator");
    actual.delete("ClusterRoleBinding /boot-operator");
    expect(actual).toEqual(expected);
  });

  test("the Deployment differs only in an empty BOOT_OPERATOR_NAMESPACE (all namespaces)", () => {
    const fromDefault = structuredClone(mainContainer(namespaced));
    fromDefault.env = fromDefault.env.map((variable) => (variable.name === "BOOT_OPERATOR_NAMESPACE" ? { name: variable.name, value: "" } : variable));
    expect(mainContainer(clusterWide)).toEqual(fromDefault);
  });

  test("an image set on manifests/default (kustomize edit set image) reaches the cluster-wide install", async () => {
    await appendFile(
      join(copy, "manifests/default/kustomization.yaml"),
      "images:\n  - name: boot-operator\n    newName: registry.test/boot-operator\n    newTag: 9.9.9\n",
    );
    const [copiedDefault, copiedClusterWide] = await Promise.all([
      kustomizeBuild(join(copy, "manifests/default")),
      kustomizeBuild(join(copy, "manifests/cluster-wide")),
    ]);
    expect(mainContainer(copiedDefault).image).toBe("registry.test/boot-operator:9.9.9");
    expect(mainContainer(copiedClusterWide).image).toBe("registry.test/boot-operator:9.9.9");
  });
});

describe("translator components", () => {
  const translatorRbac = async (scope: "namespaced" | "cluster-wide"): Promise<Map<string, KubeManifest>> =>
    byKey(
      await renderKustomization(join(REPO_ROOT, "manifests/default"), {
        kustomization: { namespace: "boot-system", resources: ["../rbac/translator", `../rbac/translator/${scope}`] },
      }),
    );

  /** A user's overlay: components apply to the objects of the kustomization that lists them, whose `namespace:`
   *  the component's RBAC then gets (without it, the bindings' subjects would have no namespace). */
  async function withComponent(install: "default" | "cluster-wide", component: string): Promise<KubeManifest[]> {
    const directory = await mkdtemp(join(copy, "overlay-"));
    await Bun.write(
      join(directory, "kustomization.yaml"),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: boot-system\nresources:\n  - ../manifests/${install}\ncomponents:\n  - ../manifests/components/${component}\n`,
    );
    return kustomizeBuild(directory);
  }

  const translatorFlag = FLAGS.find((flag) => flag.name === "translator-modes");

  for (const [install, component, scope, base] of [
    ["default", "translator", "namespaced", () => namespaced],
    ["cluster-wide", "translator-cluster-wide", "cluster-wide", () => clusterWide],
  ] as const) {
    test(`${component} on manifests/${install}: the translator's RBAC (${scope}) and --translator-modes, nothing else`, async () => {
      const rendered = await withComponent(install, component);
      const added = withoutDeployment(rendered);
      for (const key of withoutDeployment(base()).keys()) added.delete(key);
      expect(added).toEqual(await translatorRbac(scope));
      const env = mainContainer(rendered).env;
      expect(env.filter((variable) => !mainContainer(base()).env.some((other) => other.name === variable.name))).toEqual([
        { name: envName(translatorFlag?.name ?? "translator-modes"), value: "ipxe,httpboot" },
      ]);
    });
  }
});
