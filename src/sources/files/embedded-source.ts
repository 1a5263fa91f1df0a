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

export class EmbeddedSource implements ResourceSource {
  readonly description = "embedded:samples";
  async start(onUpdate: (update: SnapshotUpdate) => void): Promise<void> {
    const files = new Map<string, DecodedFile>();
    for (const [path, text] of Object.entries(EMBEDDED_SAMPLES)) files.set(`embedded:${path}`, decodeResourceFile(`embedded:${path}`, text));
    onUpdate(new ResourceSet().rebuild(files));
  }
  async stop(): Promise<void> {}
}
