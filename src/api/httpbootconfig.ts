// HTTPBootConfig: what a machine booting with UEFI HTTP Boot gets. Field for field the Go operator's type; see
// ipxebootconfig.ts for how our checks relate to its CRD.
import * as v from "valibot";
import { identifierEntry, ignitionSecretReference, systemUuid, ukiUrl } from "./formats.ts";
import { bootConfigStatus, GROUP_VERSION, objectMeta } from "./meta.ts";

export const HTTP_BOOT_CONFIG_KIND = "HTTPBootConfig";

export const httpBootConfigSpec = v.strictObject({
  systemUUID: v.optional(systemUuid),
  ignitionSecretRef: v.optional(ignitionSecretReference),
  /** IPv4/IPv6 addresses and MAC addresses by which /httpboot recognises the machine; other entries are ignored. */
  networkIdentifiers: v.optional(v.array(identifierEntry)),
  /** Where the machine fetches its Unified Kernel Image; absent or "": /httpboot answers the default UKI. */
  ukiURL: v.optional(ukiUrl),
});

export const httpBootConfig = v.looseObject({
  apiVersion: v.literal(GROUP_VERSION),
  kind: v.literal(HTTP_BOOT_CONFIG_KIND),
  metadata: objectMeta,
  spec: httpBootConfigSpec,
  // As for IPXEBootConfig: a status we cannot read never keeps the config from being served.
  status: v.fallback(v.optional(bootConfigStatus), undefined),
});
export type HTTPBootConfig = v.InferOutput<typeof httpBootConfig>;
