// Measures how long the test control plane (test/harness/controlplane.ts) takes to start, restart its
// apiserver and stop. Usage: bun scripts/controlplane/measure-startup.ts [runs=3]
// Needs the binaries from scripts/ensure/controlplane.sh.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startControlPlane } from "../../test/harness/controlplane.ts";

const runs = Number(process.argv[2] ?? "3");
const crdDirectory = await mkdtemp(join(tmpdir(), "measure-controlplane-"));
const crdPath = join(crdDirectory, "crd.yaml");
await writeFile(
  crdPath,
  `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: gadgets.measure.boot.ironcore.dev }
spec:
  group: measure.boot.ironcore.dev
  scope: Namespaced
  names: { plural: gadgets, kind: Gadget }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`,
);

const elapsedMs = async (action: () => Promise<void>): Promise<number> => {
  const startedAt = performance.now();
  await action();
  return Math.round(performance.now() - startedAt);
};

try {
  for (const withControllerManager of [false, true]) {
    for (let run = 1; run <= runs; run++) {
      const controlPlane = await startControlPlane({ crdPaths: [crdPath], withControllerManager });
      try {
        const killMs = await elapsedMs(() => controlPlane.stopApiServer());
        const restartMs = await elapsedMs(() => controlPlane.startApiServer());
        const stopMs = await elapsedMs(() => controlPlane.stop());
        const startup = controlPlane.startupTimings;
        console.log(JSON.stringify({ withControllerManager, run, startup, killMs, restartMs, stopMs }));
      } finally {
        await controlPlane.stop();
      }
    }
  }
} finally {
  await rm(crdDirectory, { recursive: true, force: true });
}
