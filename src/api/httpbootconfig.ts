import * as v from "valibot";
import { bootUrl, localObjectReference, networkIdentifier, systemUuid } from "./formats.ts";
import { bootConfigStatus, GROUP_VERSION, objectMeta } from "./meta.ts";

export const HTTP_BOOT_CONFIG_KIND = "HTTPBootConfig";

export const httpBootConfigSpec = v.strictObject({
  systemUUID: v.optional(systemUuid),
  ignitionSecretRef: v.optional(localObjectReference),
  /** IPv4/IPv6 addresses and MAC addresses by which /httpboot recognises the machine. */
  networkIdentifiers: v.optional(v.pipe(v.array(networkIdentifier), v.maxLength(128, "at most 128 identifiers"))),
  /** Where the machine fetches its Unified Kernel Image. */
  ukiURL: v.optional(bootUrl),
});

export const httpBootConfig = v.looseObject({
  apiVersion: v.literal(GROUP_VERSION),
  kind: v.literal(HTTP_BOOT_CONFIG_KIND),
  metadata: objectMeta,
  spec: httpBootConfigSpec,
  status: v.optional(bootConfigStatus),
});
export type HTTPBootConfig = v.InferOutput<typeof httpBootConfig>;
