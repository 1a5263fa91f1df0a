// Kubernetes object metadata and the status shape shared by both boot config kinds.
import * as v from "valibot";
import { openapi, resourceName } from "./formats.ts";

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

const bootConfigStates = ["Pending", "Ready", "Error"] as const;
export type BootConfigState = (typeof bootConfigStates)[number];

const CONDITION_REASON_PATTERN = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/** KEP-1623 metav1.Condition. */
const condition = v.looseObject({
  type: v.pipe(
    v.string(),
    v.minLength(1),
    v.maxLength(316),
    v.description("What the condition is about, in CamelCase: Ready, or the check that decided it (e.g. IdentifiersUnique, IPXEScriptFetched)."),
  ),
  status: v.pipe(v.picklist(["True", "False", "Unknown"]), v.description("Whether the condition holds: True, False or Unknown.")),
  // Status is written by controllers, not people: a plain pattern (no CEL cost) is enough here.
  reason: v.pipe(
    v.string(),
    v.check((value) => CONDITION_REASON_PATTERN.test(value), "must be CamelCase"),
    v.maxLength(1024),
    openapi<string>({ pattern: CONDITION_REASON_PATTERN.source }),
    v.description("Why the condition has its status, as one CamelCase word a program can match on."),
  ),
  message: v.pipe(v.string(), v.maxLength(32768), v.description("The same reason in plain words, for people.")),
  lastTransitionTime: v.pipe(
    v.union([v.string(), v.date()]),
    openapi<string | Date>({ format: "date-time" }),
    v.description("When the status last changed (not when it was last checked)."),
  ),
  observedGeneration: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(0), v.description("The metadata.generation of the config this condition was worked out for.")),
  ),
});
export type Condition = {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
};

/** The boot timeline's milestone names (boot/boot-timeline.ts), in the order a boot usually reaches them. */
export const BOOT_MILESTONES = ["chainload", "script", "httpboot", "kernel", "initrd", "squashfs", "uki", "boot-file", "ignition"] as const;
/** Milestones kept per boot: the first (which started it) and the latest ones. */
export const MAX_BOOT_MILESTONES = 16;

const timestamp = v.pipe(v.string(), openapi<string>({ format: "date-time" }));

/** One milestone of the last boot: what was served, when, and to whom. */
const bootMilestone = v.pipe(
  v.looseObject({
    name: v.pipe(
      v.picklist(BOOT_MILESTONES),
      v.description("What was served: chainload, script, httpboot, kernel, initrd, squashfs, uki, boot-file or ignition."),
    ),
    at: v.pipe(timestamp, v.description("When it was served.")),
    requester: v.pipe(v.string(), v.maxLength(256), v.description("The address that fetched it (for httpboot: the machine the DHCP server named).")),
    path: v.optional(v.pipe(v.string(), v.maxLength(256), v.description("The file, for kernel, initrd, squashfs, uki and boot-file."))),
  }),
  v.description("One step of the last boot the appliance served."),
);

/** The last boot the appliance saw for this config (written by the served-status writer, bounded). */
const lastBoot = v.pipe(
  v.looseObject({
    startedAt: v.pipe(timestamp, v.description("When the boot started (its script or /httpboot answer).")),
    lastMilestone: v.pipe(v.picklist(BOOT_MILESTONES), v.description("The latest step served; kubectl get -o wide shows it.")),
    milestones: v.pipe(
      v.array(bootMilestone),
      v.maxLength(MAX_BOOT_MILESTONES),
      v.description(`The steps served, in order: the first and the latest ones, at most ${MAX_BOOT_MILESTONES}.`),
    ),
  }),
  v.description("The last boot the appliance served for this config, step by step (Kubernetes mode)."),
);

export const bootConfigStatus = v.pipe(
  v.looseObject({
    state: v.optional(
      v.pipe(
        v.picklist(bootConfigStates),
        v.description(
          "Ready: the appliance can serve everything this config names. Error: it cannot (a missing Secret, invalid Ignition or script, identifiers another config claims…); the conditions say why. Pending: not yet checked.",
        ),
      ),
    ),
    lastBoot: v.optional(lastBoot),
    conditions: v.optional(
      v.pipe(
        v.array(v.pipe(condition, v.description("One check of the config, in the standard Kubernetes condition shape."))),
        v.maxLength(32),
        openapi<v.InferOutput<typeof condition>[]>({ listMapKeys: ["type"] }),
        v.description("The checks behind state, one per type, written by the appliance in Kubernetes mode."),
      ),
    ),
  }),
  v.description("What the appliance found when it last checked this config; written by it, not by users."),
);

/** "namespace/name": the key every index and cache uses for an object. */
export function objectKey(meta: { name: string; namespace?: string | undefined }): string {
  return `${meta.namespace ?? DEFAULT_NAMESPACE}/${meta.name}`;
}
