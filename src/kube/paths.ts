// Every REST path this appliance sends to the API server is built here, from a resource descriptor (group, version,
// plural resource) plus an optional namespace, name and subresource, the way client-go's REST client assembles them.
// One function means one place for the core-group special case (/api/v1) and for escaping names.
import { API_GROUP, API_VERSION } from "../api/index.ts";

/** What a REST path needs to address a resource type; the core group is "". */
interface ResourceType {
  group: string;
  version: string;
  /** Plural, lower case, as in the URL: "secrets", "ipxebootconfigs". */
  resource: string;
}

/** A resource type together with the kind its objects carry and whether they live in a namespace. */
export interface ResourceDescriptor extends ResourceType {
  kind: string;
  namespaced: boolean;
}

interface ResourcePathRequest extends ResourceType {
  /** Empty or absent: cluster-scoped, or all namespaces of a namespaced type. */
  namespace?: string;
  /** Absent: the collection. */
  name?: string;
  /** "status", … — needs a name. */
  subresource?: string;
}

export const METAL_GROUP = "metal.ironcore.dev";
const METAL_VERSION = "v1alpha1";

export const SECRETS: ResourceDescriptor = { group: "", version: "v1", resource: "secrets", kind: "Secret", namespaced: true };
export const EVENTS: ResourceDescriptor = { group: "", version: "v1", resource: "events", kind: "Event", namespaced: true };
export const LEASES: ResourceDescriptor = { group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", namespaced: true };
export const IPXE_BOOT_CONFIGS: ResourceDescriptor = {
  group: API_GROUP,
  version: API_VERSION,
  resource: "ipxebootconfigs",
  kind: "IPXEBootConfig",
  namespaced: true,
};
export const HTTP_BOOT_CONFIGS: ResourceDescriptor = {
  group: API_GROUP,
  version: API_VERSION,
  resource: "httpbootconfigs",
  kind: "HTTPBootConfig",
  namespaced: true,
};
export const SERVERS: ResourceDescriptor = { group: METAL_GROUP, version: METAL_VERSION, resource: "servers", kind: "Server", namespaced: false };
export const SERVER_BOOT_CONFIGURATIONS: ResourceDescriptor = {
  group: METAL_GROUP,
  version: METAL_VERSION,
  resource: "serverbootconfigurations",
  kind: "ServerBootConfiguration",
  namespaced: true,
};

const SWITCH_BOOT_CONFIGS: ResourceDescriptor = {
  group: API_GROUP,
  version: API_VERSION,
  resource: "switchbootconfigs",
  kind: "SwitchBootConfig",
  namespaced: true,
};

/** The boot-config kinds by kind, for code that holds a kind name. */
export const BOOT_CONFIG_RESOURCES = { IPXEBootConfig: IPXE_BOOT_CONFIGS, HTTPBootConfig: HTTP_BOOT_CONFIGS, SwitchBootConfig: SWITCH_BOOT_CONFIGS } as const;

/** "v1" for the core group, "group/version" otherwise: the apiVersion field of an object of this type. */
export function apiVersionOf(type: ResourceType): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

/** /api/v1[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]], or /apis/{group}/{version}/… for named groups. */
export function resourcePath(request: ResourcePathRequest): string {
  const { namespace, name, subresource } = request;
  if (request.resource === "" || request.version === "") throw new Error("resourcePath: resource and version are required");
  if (name === "") throw new Error(`resourcePath: empty name for ${request.resource}`);
  if (subresource !== undefined && name === undefined) throw new Error(`resourcePath: subresource ${subresource} needs a name`);
  const segments = [request.group === "" ? "api" : `apis/${request.group}`, request.version];
  if (namespace) segments.push("namespaces", encodeURIComponent(namespace));
  segments.push(request.resource);
  if (name !== undefined) segments.push(encodeURIComponent(name));
  if (subresource !== undefined) segments.push(subresource);
  return `/${segments.join("/")}`;
}

/** An object's namespace and name; namespace "" for cluster-scoped objects. */
export interface NamespacedName {
  namespace: string;
  name: string;
}

/** The cache key reflectors use: "namespace/name", or "name" for cluster-scoped objects. */
export function cacheKeyOf(ref: NamespacedName): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

/** Inverse of cacheKeyOf (names and namespaces never contain "/"). */
export function parseCacheKey(key: string): NamespacedName {
  const separator = key.indexOf("/");
  return separator < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, separator), name: key.slice(separator + 1) };
}
