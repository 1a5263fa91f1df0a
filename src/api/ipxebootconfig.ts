// IPXEBootConfig: what a machine booting with iPXE gets. Field for field the Go operator's type; where our checks
// are stricter than its CRD (which accepts any string everywhere), they reject only values with which the Go
// operator's answer could not boot the machine either.
import * as v from "valibot";
import { bootFileUrl, identifierEntry, ignitionSecretReference, localObjectReference, openapi, systemUuid } from "./formats.ts";
import { bootConfigStatus, GROUP_VERSION, objectMeta } from "./meta.ts";

export const IPXE_BOOT_CONFIG_KIND = "IPXEBootConfig";

const NEEDS_BOOT_FILES = "is required unless ipxeScriptSecretRef names a custom iPXE script (the default script boots it)";

/** Present and not "" (which, as in Go, means absent). */
const given = (value: string | undefined): boolean => value !== undefined && value !== "";

const ipxeBootConfigFields = v.strictObject({
  systemUUID: v.optional(systemUuid),
  /** Addresses by which the UUID-less /ipxe path recognises the machine; entries that are not IPs are ignored. */
  systemIPs: v.optional(v.array(identifierEntry)),
  kernelURL: v.optional(bootFileUrl),
  initrdURL: v.optional(bootFileUrl),
  /** When set, the default script adds live-boot arguments that fetch this squashfs as the root filesystem. */
  squashfsURL: v.optional(bootFileUrl),
  ignitionSecretRef: v.optional(ignitionSecretReference),
  /** Secret whose `ipxe-script` key replaces the default script for this machine. */
  ipxeScriptSecretRef: v.optional(localObjectReference),
  /** Deprecated by the reference API; accepted so existing objects validate, ignored. */
  image: v.optional(v.string()),
  /** Deprecated by the reference API; accepted so existing objects validate, ignored. */
  ipxeServerURL: v.optional(v.string()),
});

export const ipxeBootConfigSpec = v.pipe(
  ipxeBootConfigFields,
  // A custom script brings its own kernel (the Go operator serves it verbatim); the default script needs both files.
  v.forward(
    v.partialCheck([["kernelURL"], ["ipxeScriptSecretRef"]], (spec) => spec.ipxeScriptSecretRef !== undefined || given(spec.kernelURL), NEEDS_BOOT_FILES),
    ["kernelURL"],
  ),
  v.forward(
    v.partialCheck([["initrdURL"], ["ipxeScriptSecretRef"]], (spec) => spec.ipxeScriptSecretRef !== undefined || given(spec.initrdURL), NEEDS_BOOT_FILES),
    ["initrdURL"],
  ),
  openapi<v.InferOutput<typeof ipxeBootConfigFields>>({
    celRules: ["kernelURL", "initrdURL"].map((field) => ({
      rule: `has(self.ipxeScriptSecretRef) || (has(self.${field}) && self.${field} != '')`,
      message: NEEDS_BOOT_FILES,
      fieldPath: `.${field}`,
      reason: "FieldValueRequired" as const,
    })),
  }),
);

export const ipxeBootConfig = v.looseObject({
  apiVersion: v.literal(GROUP_VERSION),
  kind: v.literal(IPXE_BOOT_CONFIG_KIND),
  metadata: objectMeta,
  spec: ipxeBootConfigSpec,
  // Status is ours to rewrite: a value we would not have written (another writer, an older version) never keeps a
  // config from being served; it reads as no status.
  status: v.fallback(v.optional(bootConfigStatus), undefined),
});
export type IPXEBootConfig = v.InferOutput<typeof ipxeBootConfig>;
