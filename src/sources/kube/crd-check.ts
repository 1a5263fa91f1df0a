// At start, Kubernetes mode asks discovery whether the boot.ironcore.dev CRDs are installed. A missing one is
// almost always an install mistake (the CRDs were not applied, or an older Go operator's were removed), and the
// reflectors would only retry 404s forever behind a readiness probe that never passes; so the start fails and says
// which CRD is missing and how to install it. A discovery request that fails otherwise (API server unreachable,
// timing out) decides nothing: the reflectors retry as they do for any outage.
import { isNotFound, type KubeClient } from "../../kube/client.ts";
import { BOOT_CONFIG_RESOURCES, type ResourceDescriptor } from "../../kube/paths.ts";

const CRD_INSTALL_COMMAND = "kubectl apply --server-side -k manifests/crds (or the CRDs in dist/install.yaml)";

interface ApiResourceList {
  resources?: { name: string }[];
}

/** Pure: the descriptors the group/version's discovery document does not list (all, when the group is absent). */
export function missingResources(list: ApiResourceList | undefined, wanted: readonly ResourceDescriptor[]): ResourceDescriptor[] {
  const served = new Set((list?.resources ?? []).map((resource) => resource.name));
  return wanted.filter((descriptor) => !served.has(descriptor.resource));
}

/** The CRD name of a descriptor, as `kubectl get crd` lists it. */
function crdName(descriptor: ResourceDescriptor): string {
  return `${descriptor.resource}.${descriptor.group}`;
}

export function describeMissingCrds(missing: readonly ResourceDescriptor[], server: string): string {
  const names = missing.map((descriptor) => `${descriptor.kind} (${crdName(descriptor)})`).join(" and ");
  return `the CustomResourceDefinition${missing.length > 1 ? "s" : ""} for ${names} ${missing.length > 1 ? "are" : "is"} not installed on ${server}; install with: ${CRD_INSTALL_COMMAND}`;
}

/**
 * The boot config CRDs discovery does not list; `undefined` when discovery could not be asked (the caller goes on
 * and the reflectors retry).
 */
export async function missingBootCrds(client: KubeClient, timeoutMs = 10_000): Promise<ResourceDescriptor[] | undefined> {
  const wanted = Object.values(BOOT_CONFIG_RESOURCES);
  const [first] = wanted;
  if (!first) return [];
  try {
    const list = await client.request<ApiResourceList>("GET", `/apis/${first.group}/${first.version}`, { timeoutMs });
    return missingResources(list, wanted);
  } catch (error) {
    if (isNotFound(error)) return wanted; // the whole group is unknown
    return undefined;
  }
}
