// HTTPBootConfig: what a machine booting with UEFI HTTP Boot gets. Field for field the Go operator's type; see
// ipxebootconfig.ts for how our checks relate to its CRD.
import * as v from "valibot";
import { identifierEntry, ignitionSecretReference, systemUuid, ukiUrl } from "./formats.ts";
import { bootConfigStatus, GROUP_VERSION, objectMeta } from "./meta.ts";

export const HTTP_BOOT_CONFIG_KIND = "HTTPBootConfig";

export const httpBootConfigSpec = v.pipe(
  v.strictObject({
    systemUUID: v.optional(
      v.pipe(
        systemUuid,
        v.description(
          "SMBIOS UUID of the machine, in any letter case: /ignition/{uuid} finds the config by it, and the /httpboot answer carries it. Empty: the machine has no Ignition here.",
        ),
      ),
    ),
    ignitionSecretRef: v.optional(
      v.pipe(
        ignitionSecretReference,
        v.description(
          "Secret in the same namespace whose `ignition` key /ignition/{uuid} serves: Ignition JSON, or Butane YAML translated to Ignition when the Secret's `format` key is fcos or flatcar. An empty name means no Ignition.",
        ),
      ),
    ),
    /** IPv4/IPv6 addresses and MAC addresses by which /httpboot recognises the machine; other entries are ignored. */
    networkIdentifiers: v.optional(
      v.pipe(
        v.array(v.pipe(identifierEntry, v.description("One IPv4 or IPv6 address, or MAC address, of the machine."))),
        v.description(
          "IP and MAC addresses of the machine. /httpboot answers the config that claims the address the request comes from (or, behind a trusted proxy, a forwarded one); /ipxe also finds an IPXEBootConfig through a MAC listed here and this config's systemUUID. Entries that are neither are ignored and reported as a warning.",
        ),
      ),
    ),
    /** Where the machine fetches its Unified Kernel Image; absent or "": /httpboot answers the default UKI. */
    ukiURL: v.optional(
      v.pipe(
        ukiUrl,
        v.description(
          "Unified Kernel Image the /httpboot answer points the machine at: an http:// or https:// URL (what UEFI HTTP Boot can fetch), or a path starting with / on this appliance (such as /uki/… or /httpboot/… for an OCI image). Empty: the appliance's --default-uki-url.",
        ),
      ),
    ),
  }),
  v.description("What a machine booting with UEFI HTTP Boot is pointed at, and the Ignition it gets."),
);

export const httpBootConfig = v.looseObject({
  apiVersion: v.literal(GROUP_VERSION),
  kind: v.literal(HTTP_BOOT_CONFIG_KIND),
  metadata: objectMeta,
  spec: httpBootConfigSpec,
  // As for IPXEBootConfig: a status we cannot read never keeps the config from being served.
  status: v.fallback(v.optional(bootConfigStatus), undefined),
});
export type HTTPBootConfig = v.InferOutput<typeof httpBootConfig>;
