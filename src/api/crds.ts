// CustomResourceDefinitions for our kinds, built from the valibot schemas.

import { HTTP_BOOT_CONFIG_KIND, httpBootConfigSpec } from "./httpbootconfig.ts";
import { IPXE_BOOT_CONFIG_KIND, ipxeBootConfigSpec } from "./ipxebootconfig.ts";
import { API_GROUP, API_VERSION, bootConfigStatus } from "./meta.ts";
import { type JsonSchemaProps, toOpenApi } from "./openapi.ts";
import { SWITCH_BOOT_CONFIG_KIND, switchBootConfigSpec } from "./switchbootconfig.ts";

interface CrdDefinition {
  kind: string;
  plural: string;
  shortNames: string[];
  description: string;
  spec: unknown;
  /** Shown by `kubectl get -o wide` only (priority 1): how the machine is recognised and what it boots. */
  wideColumns: { name: string; jsonPath: string; description: string }[];
  /** What `kubectl get` shows between State and Age; the server kinds show their UUID. */
  identityColumns?: { name: string; jsonPath: string }[];
}

const UUID_COLUMNS = [{ name: "UUID", jsonPath: ".spec.systemUUID" }];

export const BOOT_CRDS: readonly CrdDefinition[] = [
  {
    kind: IPXE_BOOT_CONFIG_KIND,
    plural: "ipxebootconfigs",
    shortNames: ["ipxebc"],
    description: "What a machine booting with iPXE gets: kernel, initrd, optional squashfs, Ignition and an optional custom iPXE script.",
    spec: ipxeBootConfigSpec,
    wideColumns: [
      { name: "IPs", jsonPath: ".spec.systemIPs", description: "Addresses that recognise the machine on /ipxe" },
      { name: "Kernel", jsonPath: ".spec.kernelURL", description: "Kernel the default iPXE script boots" },
      { name: "Script", jsonPath: ".spec.ipxeScriptSecretRef.name", description: "Secret with a custom iPXE script" },
    ],
  },
  {
    kind: HTTP_BOOT_CONFIG_KIND,
    plural: "httpbootconfigs",
    shortNames: ["httpbc"],
    description: "What a machine booting with UEFI HTTP Boot gets: a Unified Kernel Image URL and Ignition.",
    spec: httpBootConfigSpec,
    wideColumns: [
      { name: "Identifiers", jsonPath: ".spec.networkIdentifiers", description: "IP and MAC addresses that recognise the machine on /httpboot" },
      { name: "UKI", jsonPath: ".spec.ukiURL", description: "Unified Kernel Image the /httpboot answer names" },
    ],
  },
  {
    kind: SWITCH_BOOT_CONFIG_KIND,
    plural: "switchbootconfigs",
    shortNames: ["switchbc"],
    description:
      "What a network switch gets when it provisions itself (ONIE installer/updater, SONiC ZTP JSON, Arista EOS and Cumulus scripts), matched by serial number, MAC or IP.",
    spec: switchBootConfigSpec,
    identityColumns: [
      { name: "Serial", jsonPath: ".spec.serialNumber" },
      { name: "MACs", jsonPath: ".spec.macAddresses" },
    ],
    wideColumns: [
      { name: "IPs", jsonPath: ".spec.systemIPs", description: "Addresses the switch must ask from, when set" },
      { name: "Installer", jsonPath: ".spec.onie.installerURL", description: "ONIE installer the switch gets" },
    ],
  },
];

export function crdFor(definition: CrdDefinition): Record<string, unknown> {
  const openAPIV3Schema: JsonSchemaProps = {
    type: "object",
    description: definition.description,
    properties: {
      apiVersion: { type: "string", description: `The versioned schema of this object: ${API_GROUP}/${API_VERSION}.` },
      kind: { type: "string", description: `The object's kind: ${definition.kind}.` },
      // The API server forbids anything but the type here; its published OpenAPI describes metadata as ObjectMeta.
      metadata: { type: "object" },
      spec: toOpenApi(definition.spec),
      status: toOpenApi(bootConfigStatus),
    },
    required: ["spec"],
  };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${definition.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.kind.toLowerCase(),
        shortNames: definition.shortNames,
      },
      scope: "Namespaced",
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "State", type: "string", jsonPath: ".status.state" },
            ...(definition.identityColumns ?? UUID_COLUMNS).map((column) => ({ name: column.name, type: "string", jsonPath: column.jsonPath })),
            // The boot timeline's last milestone (status.lastBoot, issue #15 §3): `kubectl get -o wide`; servers only.
            ...(definition.kind === SWITCH_BOOT_CONFIG_KIND
              ? []
              : [{ name: "Last Milestone", type: "string", jsonPath: ".status.lastBoot.lastMilestone", priority: 1 }]),
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
            ...definition.wideColumns.map((column) => ({ ...column, type: "string", priority: 1 })),
          ],
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}
