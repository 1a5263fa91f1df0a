// Kubernetes object metadata and the status shape shared by both boot config kinds.
import * as v from "valibot";
import { resourceName } from "./formats.ts";

export const API_GROUP = "boot.ironcore.dev";
export const API_VERSION = "v1alpha1";
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;
export const DEFAULT_NAMESPACE = "default";

/** Only the metadata fields we read; everything else the API server adds is kept but not validated. */
export const objectMeta = v.looseObject({
  name: resourceName,
  namespace: v.optional(resourceName),
  uid: v.optional(v.string()),
  generation: v.optional(v.number()),
  resourceVersion: v.optional(v.string()),
  creationTimestamp: v.optional(v.union([v.string(), v.date()])),
  labels: v.optional(v.record(v.string(), v.string())),
  annotations: v.optional(v.record(v.string(), v.string())),
});
export type ObjectMeta = v.InferOutput<typeof objectMeta>;

export const bootConfigStates = ["Pending", "Ready", "Error"] as const;
export type BootConfigState = (typeof bootConfigStates)[number];

/** KEP-1623 metav1.Condition. */
export const condition = v.looseObject({
  type: v.pipe(v.string(), v.minLength(1), v.maxLength(316)),
  status: v.picklist(["True", "False", "Unknown"]),
  reason: v.pipe(v.string(), v.regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, "must be CamelCase"), v.maxLength(1024)),
  message: v.pipe(v.string(), v.maxLength(32768)),
  lastTransitionTime: v.union([v.string(), v.date()]),
  observedGeneration: v.optional(v.number()),
});
export type Condition = {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
};

export const bootConfigStatus = v.looseObject({
  state: v.optional(v.picklist(bootConfigStates)),
  conditions: v.optional(v.array(condition)),
});
export type BootConfigStatus = { state?: BootConfigState; conditions?: Condition[] };

/** "namespace/name": the key every index and cache uses for an object. */
export function objectKey(meta: { name: string; namespace?: string | undefined }): string {
  return `${meta.namespace ?? DEFAULT_NAMESPACE}/${meta.name}`;
}
