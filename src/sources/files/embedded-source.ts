// The sample resources compiled into the binary, so `boot-operator serve` with no flags shows a working appliance.
import machine1 from "../../../manifests/samples/machine-1.yaml" with { type: "text" };
import machine2 from "../../../manifests/samples/machine-2.yaml" with { type: "text" };
import machine3 from "../../../manifests/samples/machine-3.yaml" with { type: "text" };
import switchArista from "../../../manifests/samples/switch-arista.yaml" with { type: "text" };
import switchCumulus from "../../../manifests/samples/switch-cumulus.yaml" with { type: "text" };
import switchOnie from "../../../manifests/samples/switch-onie.yaml" with { type: "text" };
import switchSonic from "../../../manifests/samples/switch-sonic.yaml" with { type: "text" };
import type { SnapshotUpdate } from "../../index/snapshot.ts";
import type { ResourceSource } from "../types.ts";
import { type DecodedFile, decodeResourceFile } from "./documents.ts";
import { ResourceSet } from "./resource-set.ts";

const EMBEDDED_SAMPLES: Readonly<Record<string, string>> = {
  "samples/machine-1.yaml": machine1,
  "samples/machine-2.yaml": machine2,
  "samples/machine-3.yaml": machine3,
  "samples/switch-arista.yaml": switchArista,
  "samples/switch-cumulus.yaml": switchCumulus,
  "samples/switch-onie.yaml": switchOnie,
  "samples/switch-sonic.yaml": switchSonic,
};

/**
 * The files the samples' answers point at (/uki/vmlinuz, /uki/initrd.img, /uki/sample.efi), served from the binary
 * when the samples are served without --uki-dir, so every URL in a sample answer resolves. They are placeholders
 * and say so: the "kernel" and the "UKI" are iPXE scripts, which iPXE's `kernel`+`boot` and `chain` run, printing
 * on the machine's console where real files go; firmware booting /uki/sample.efi directly rejects it (not an EFI
 * image). Real boot files come from --uki-dir.
 */
const PLACEHOLDER_SCRIPT = (what: string): string => `#!ipxe
echo boot-operator sample: /uki/${what} is a placeholder built into the binary, not a real boot file.
echo Put kernels, initrds and UKIs in a directory and start boot-operator with --uki-dir DIR.
sleep 10
exit 1
`;

export const EMBEDDED_BOOT_FILES: ReadonlyMap<string, string> = new Map([
  ["vmlinuz", PLACEHOLDER_SCRIPT("vmlinuz (kernel)")],
  ["initrd.img", "boot-operator sample: a placeholder initrd built into the binary, not a real one; real files come from --uki-dir.\n"],
  ["sample.efi", PLACEHOLDER_SCRIPT("sample.efi (Unified Kernel Image)")],
]);

export class EmbeddedSource implements ResourceSource {
  readonly description = "embedded:samples";
  async start(onUpdate: (update: SnapshotUpdate) => void): Promise<void> {
    const files = new Map<string, DecodedFile>();
    for (const [path, text] of Object.entries(EMBEDDED_SAMPLES)) files.set(`embedded:${path}`, decodeResourceFile(`embedded:${path}`, text));
    onUpdate(new ResourceSet().rebuild(files));
  }
  async stop(): Promise<void> {}
}
