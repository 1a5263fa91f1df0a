// Server-side apply of status. Each writer applies only the fields it owns under its own field manager, so the
// reconciler (Ready, IdentifiersUnique, state) and the served-status writer (*Fetched conditions, from any
// replica) never overwrite each other: conditions are a map list keyed by type in the CRD.
import type { Condition } from "../api/index.ts";
import type { LastBootStatus } from "../boot/boot-timeline.ts";
import type { KubeClient } from "../kube/client.ts";
import { apiVersionOf, BOOT_CONFIG_RESOURCES, parseCacheKey, resourcePath } from "../kube/paths.ts";
import type { ObjectKey } from "./work-queue.ts";

export const RECONCILER_FIELD_MANAGER = "boot-operator";
export const SERVED_FIELD_MANAGER = "boot-operator-served";

/** The server kinds (what the translator writes). */
export type ConfigKind = "IPXEBootConfig" | "HTTPBootConfig";
/** Every kind whose status the writers keep: the server kinds and switches. */
type StatusKind = ConfigKind | "SwitchBootConfig";

/** One boot config, as the status writers queue it. */
export interface ConfigRef extends ObjectKey {
  kind: StatusKind;
}

/** From the index's and the cache's "namespace/name" keys. */
export function configRef(kind: StatusKind, key: string): ConfigRef {
  return { kind, ...parseCacheKey(key) };
}

export function describeConfig(ref: ConfigRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

/**
 * PATCH with application/apply-patch+yaml as `fieldManager`, taking ownership of conflicting fields (force). The
 * object the API server answers with is not parsed: the watch brings it anyway, and parsing it twice was ~5 % of
 * the main thread's time in a start-up write-out of 20 000 statuses.
 */
export async function serverSideApply(client: KubeClient, path: string, body: unknown, fieldManager: string): Promise<void> {
  await client.request("PATCH", path, { query: { fieldManager, force: true }, contentType: "application/apply-patch+yaml", body, discardBody: true });
}

export async function applyStatus(
  client: KubeClient,
  ref: ConfigRef,
  status: { state?: string; conditions: Condition[]; lastBoot?: LastBootStatus },
  fieldManager: string,
): Promise<void> {
  const { kind, namespace, name } = ref;
  const type = BOOT_CONFIG_RESOURCES[kind];
  await serverSideApply(
    client,
    resourcePath({ ...type, namespace, name, subresource: "status" }),
    { apiVersion: apiVersionOf(type), kind, metadata: { name, namespace }, status },
    fieldManager,
  );
}
