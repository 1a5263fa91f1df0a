// IPXEBootConfig: what a machine booting with iPXE gets. Field for field the Go operator's type; where our checks
// are stricter than its CRD (which accepts any string everywhere), they reject only values with which the Go
// operator's answer could not boot the machine either.
import * as v from "valibot";
import {
  bootFileUrl,
  bootFileUrlAsGiven,
  identifierEntry,
  ignitionSecretReference,
  kernelArguments,
  localObjectReference,
  openapi,
  systemUuid,
} from "./formats.ts";
import { bootConfigStatus, GROUP_VERSION, objectMeta } from "./meta.ts";

export const IPXE_BOOT_CONFIG_KIND = "IPXEBootConfig";

const NEEDS_BOOT_FILES = "is required unless ipxeScriptSecretRef names a custom iPXE script (the default script boots it)";

const ipxeBootConfigFields = v.strictObject({
  systemUUID: v.optional(
    v.pipe(
      systemUuid,
      v.description(
        "SMBIOS UUID of the machine this config is for, in any letter case. /ipxe/{uuid} and /ignition/{uuid} find the config by it (also in the byte-swapped form some firmware reports). Empty: the machine is recognised by systemIPs only, and /ignition cannot find it.",
      ),
    ),
  ),
  /** Addresses by which the UUID-less /ipxe path recognises the machine; entries that are not IPs are ignored. */
  systemIPs: v.optional(
    v.pipe(
      v.array(v.pipe(identifierEntry, v.description("One IPv4 or IPv6 address of the machine."))),
      v.description(
        "IP addresses of the machine. A request to /ipxe without a known UUID is matched by the address it comes from (or, behind a trusted proxy, the forwarded one). Entries that are not IP addresses are ignored and reported as a warning.",
      ),
    ),
  ),
  kernelURL: v.optional(
    v.pipe(
      bootFileUrlAsGiven,
      v.description(
        'Kernel the default iPXE script boots: a URL iPXE can download (http, https, tftp, ftp, nfs, …, or file: on EFI), or a path starting with / that is resolved against this appliance\'s public URL (for example /uki/vmlinuz or an /image?… layer). Required unless ipxeScriptSecretRef is set; "" is accepted (as by the Go boot-operator) but leaves the default script nothing to boot.',
      ),
    ),
  ),
  initrdURL: v.optional(
    v.pipe(
      bootFileUrlAsGiven,
      v.description("Initial ramdisk the default iPXE script loads with the kernel; same forms as kernelURL. Required unless ipxeScriptSecretRef is set."),
    ),
  ),
  /** When set, the default script adds live-boot arguments that fetch this squashfs as the root filesystem. */
  squashfsURL: v.optional(
    v.pipe(
      bootFileUrl,
      v.description(
        "Optional root filesystem image. When set, the default iPXE script adds the live-boot kernel arguments (gl.url=…, gl.live=1) that make the booted system fetch it; same forms as kernelURL.",
      ),
    ),
  ),
  /** Extra kernel arguments for the default script (the Go operator has no equivalent field). */
  kernelArgs: v.optional(
    v.pipe(
      kernelArguments,
      v.description(
        "Extra kernel command-line arguments, one per entry, that the default iPXE script appends after its own (so an entry such as console=ttyS1,115200 takes effect over the default one). Custom scripts can use them as {{.KernelArgs}}. Not part of the Go boot-operator's API.",
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
  /** Secret whose `ipxe-script` key replaces the default script for this machine. */
  ipxeScriptSecretRef: v.optional(
    v.pipe(
      localObjectReference,
      v.description(
        "Secret in the same namespace whose `ipxe-script` key replaces the default iPXE script for this machine. The script must start with #!ipxe and may use the default template's fields ({{.KernelURL}}, {{.IgnitionURL}}, …). With it, kernelURL and initrdURL are optional.",
      ),
    ),
  ),
  /** Deprecated by the reference API; accepted so existing objects validate, ignored. */
  image: v.optional(v.pipe(v.string(), v.description("Deprecated and ignored; accepted so that objects written for the Go boot-operator stay valid."))),
  /** Deprecated by the reference API; accepted so existing objects validate, ignored. */
  ipxeServerURL: v.optional(
    v.pipe(
      v.string(),
      v.description("Deprecated and ignored (the appliance's own public URL is used); accepted so that objects written for the Go boot-operator stay valid."),
    ),
  ),
});

/** "" in kernelURL/initrdURL (Go's omitempty) reads as absent once their presence has been checked. */
function emptyFilesAbsent<T extends { kernelURL?: string | undefined; initrdURL?: string | undefined }>(spec: T): T {
  const read = { ...spec };
  if (read.kernelURL === "") delete read.kernelURL;
  if (read.initrdURL === "") delete read.initrdURL;
  return read;
}

export const ipxeBootConfigSpec = v.pipe(
  ipxeBootConfigFields,
  // The Go CRD requires both keys but accepts "" in them, so a config valid for it stays valid here: the keys must be
  // there unless a custom script brings its own kernel (the Go operator serves it verbatim). An empty one is
  // accepted; diagnose.ts warns that the default script then has nothing to boot.
  v.forward(
    v.partialCheck(
      [["kernelURL"], ["ipxeScriptSecretRef"]],
      (spec) => spec.ipxeScriptSecretRef !== undefined || spec.kernelURL !== undefined,
      NEEDS_BOOT_FILES,
    ),
    ["kernelURL"],
  ),
  v.forward(
    v.partialCheck(
      [["initrdURL"], ["ipxeScriptSecretRef"]],
      (spec) => spec.ipxeScriptSecretRef !== undefined || spec.initrdURL !== undefined,
      NEEDS_BOOT_FILES,
    ),
    ["initrdURL"],
  ),
  v.description("What a machine booting with iPXE is told to boot, and the Ignition it gets."),
  openapi<v.InferOutput<typeof ipxeBootConfigFields>>({
    celRules: ["kernelURL", "initrdURL"].map((field) => ({
      rule: `has(self.ipxeScriptSecretRef) || has(self.${field})`,
      message: NEEDS_BOOT_FILES,
      fieldPath: `.${field}`,
      reason: "FieldValueRequired" as const,
    })),
  }),
  v.transform(emptyFilesAbsent),
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
