// The setup the Kubernetes-mode tests share: a real control plane with the CRDs, one namespace and what the test
// puts in it, and the compiled binary watching that namespace (--source kube); one stop for both. Plus the status
// reads they all make (a condition by type, the status-write count once it settled).
import { type Appliance, startAppliance } from "./appliance.ts";
import { type ControlPlane, startControlPlane, statusAppliesTo } from "./controlplane.ts";
import { eventually } from "./wait.ts";

/** The flags that point the binary at the control plane's namespace, before a test's own flags. */
export function kubeSourceArgs(cp: Pick<ControlPlane, "kubeconfigPath">, namespace: string, ...extra: string[]): string[] {
  return ["--source", "kube", "--kubeconfig", cp.kubeconfigPath, "--namespace", namespace, ...extra];
}

export interface KubeModeOptions {
  crdPaths: string[];
  namespace: string;
  /** Runs after the namespace exists and before the appliance starts: the Secrets and configs it finds at start. */
  prepare?: (cp: ControlPlane) => Promise<void>;
  /** The appliance's flags after kubeSourceArgs. */
  applianceArgs?: string[];
}

export interface KubeMode {
  cp: ControlPlane;
  app: Appliance;
  /** Stops the appliance, then the control plane. */
  stop(): Promise<void>;
}

/** Control plane, namespace, prepare(), then the appliance, ready. On failure the control plane is stopped again. */
export async function startKubeMode(options: KubeModeOptions): Promise<KubeMode> {
  const cp = await startControlPlane({ crdPaths: options.crdPaths });
  try {
    await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: options.namespace } });
    await options.prepare?.(cp);
    const app = await startAppliance(kubeSourceArgs(cp, options.namespace, ...(options.applianceArgs ?? [])));
    try {
      await app.waitReady(30_000);
    } catch (error) {
      await app.stop();
      throw error;
    }
    return {
      cp,
      app,
      async stop() {
        await app.stop();
        await cp.stop();
      },
    };
  } catch (error) {
    await cp.stop();
    throw error;
  }
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** The condition of this type in an object's status, if it has one. */
export function conditionOf(object: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined {
  return object.status?.conditions?.find((condition) => condition.type === type);
}

/** The count of status writes to `resource` once it stopped moving (two reads `intervalMs` apart agree). */
export async function statusWritesSettled(
  cp: Pick<ControlPlane, "request">,
  resource: string,
  timing: { timeoutMs: number; intervalMs: number },
): Promise<number> {
  let previous = -1;
  const settled = await eventually(
    async () => {
      const count = await statusAppliesTo(cp, resource);
      const unchanged = count === previous;
      previous = count;
      return unchanged && { count };
    },
    `status writes to ${resource} to settle`,
    timing,
  );
  return settled.count;
}
