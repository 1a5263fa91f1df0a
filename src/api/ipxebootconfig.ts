import * as v from "valibot";
import { bootUrl, ipAddress, localObjectReference, systemUuid } from "./formats.ts";
import { bootConfigStatus, GROUP_VERSION, objectMeta } from "./meta.ts";

export const IPXE_BOOT_CONFIG_KIND = "IPXEBootConfig";

export const ipxeBootConfigSpec = v.strictObject({
  systemUUID: v.optional(systemUuid),
  systemIPs: v.optional(v.pipe(v.array(ipAddress), v.maxLength(128, "at most 128 addresses"))),
  kernelURL: bootUrl,
  initrdURL: bootUrl,
  /** When set, the default script adds live-boot arguments that fetch this squashfs as the root filesystem. */
  squashfsURL: v.optional(bootUrl),
  ignitionSecretRef: v.optional(localObjectReference),
  /** Secret whose `ipxe-script` key replaces the default script for this machine. */
  ipxeScriptSecretRef: v.optional(localObjectReference),
  /** Deprecated by the reference API; accepted so existing objects validate, ignored. */
  image: v.optional(v.pipe(v.string(), v.maxLength(1024))),
  /** Deprecated by the reference API; accepted so existing objects validate, ignored. */
  ipxeServerURL: v.optional(v.pipe(v.string(), v.maxLength(2048))),
});

export const ipxeBootConfig = v.looseObject({
  apiVersion: v.literal(GROUP_VERSION),
  kind: v.literal(IPXE_BOOT_CONFIG_KIND),
  metadata: objectMeta,
  spec: ipxeBootConfigSpec,
  status: v.optional(bootConfigStatus),
});
export type IPXEBootConfig = v.InferOutput<typeof ipxeBootConfig>;
