// Server-side apply of status. Each writer applies only the fields it owns under its own field manager, so the
// reconciler (Ready, IdentifiersUnique, state) and the served-status writer (*Fetched conditions, from any
// replica) never overwrite each other: conditions are a map list keyed by type in the CRD.
import { API_GROUP, API_VERSION, type Condition } from "../api/index.ts";
import type { KubeClient } from "../kube/client.ts";

export const RECONCILER_FIELD_MANAGER = "boot-operator";
export const SERVED_FIELD_MANAGER = "boot-operator-served";

export type ConfigKind = "IPXEBootConfig" | "HTTPBootConfig";

export function statusPath(kind: ConfigKind, key: string): string {
  const [namespace, name] = key.split("/") as [string, string];
  return `/apis/${API_GROUP}/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/${kind.toLowerCase()}s/${encodeURIComponent(name)}/status`;
}

/** PATCH with application/apply-patch+yaml as `fieldManager`, taking ownership of conflicting fields (force). */
export async function serverSideApply(client: KubeClient, path: string, body: unknown, fieldManager: string): Promise<void> {
  await client.request("PATCH", path, { query: { fieldManager, force: true }, contentType: "application/apply-patch+yaml", body });
}

export async function applyStatus(
  client: KubeClient,
  kind: ConfigKind,
  key: string,
  status: { state?: string; conditions: Condition[] },
  fieldManager: string,
): Promise<void> {
  const [namespace, name] = key.split("/") as [string, string];
  await serverSideApply(
    client,
    statusPath(kind, key),
    { apiVersion: `${API_GROUP}/${API_VERSION}`, kind, metadata: { name, namespace }, status },
    fieldManager,
  );
}
