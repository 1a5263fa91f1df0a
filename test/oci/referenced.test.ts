// Through the compiled binary: the image proxy serves the default UKI image's UKI and blobs that boot config files
// reference, and nothing else of the allowed registry (issue #16 §5.2).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpBootUkiUrl, imageLayerUrl } from "../../src/oci/urls.ts";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { pushOciIndexImage, pushPxeOnlyImage, RegistryHarness, type TestImage, type TestLayer } from "../harness/registry.ts";
import { eventually } from "../harness/wait.ts";

let registry: RegistryHarness;
let app: Appliance;
let directory: string;
let defaultImage: TestImage;
let pxe: TestImage;

function layer(image: TestImage, kind: "uki" | "kernel" | "initrd" | "squashfs", architecture: "amd64" | "arm64" = "amd64"): TestLayer {
  const found = image.byArchitecture[architecture]?.layers[kind];
  if (!found) throw new Error(`no ${architecture} ${kind} in ${image.reference}`);
  return found;
}

beforeAll(async () => {
  registry = await RegistryHarness.start();
  defaultImage = await pushOciIndexImage(registry, "boot/default", "v1");
  pxe = await pushPxeOnlyImage(registry, "boot/pxe", "1.0");
  directory = await mkdtemp(join(tmpdir(), "referenced-"));
  const imageName = `${registry.host}/boot/pxe`;
  await writeFile(
    join(directory, "machine.yaml"),
    [
      "apiVersion: boot.ironcore.dev/v1alpha1",
      "kind: IPXEBootConfig",
      "metadata: { name: machine, namespace: default }",
      "spec:",
      "  systemUUID: 6f1c0a3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f",
      `  kernelURL: "${imageLayerUrl("http://boot.test:8082", imageName, pxe.tag, layer(pxe, "kernel").digest)}"`,
      `  initrdURL: "${imageLayerUrl("http://boot.test:8082", imageName, pxe.tag, layer(pxe, "initrd").digest)}"`,
      "",
    ].join("\n"),
  );
  app = await startAppliance([
    "--source",
    `dir:${directory}`,
    "--allowed-registries",
    registry.host,
    "--insecure-registries",
    registry.host,
    "--default-httpboot-oci-image",
    defaultImage.reference,
  ]);
  await app.waitReady(30_000);
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await registry?.stop();
  await rm(directory, { recursive: true, force: true });
});

describe("the image proxy of the running appliance", () => {
  test("serves the default image's UKI and the blobs the config file names", async () => {
    const uki = layer(defaultImage, "uki");
    const ukiUrl = httpBootUkiUrl(app.url, `${registry.host}/boot/default`, uki.digest);
    await eventually(async () => (await fetch(ukiUrl, { method: "HEAD" })).status === 200, "default UKI served", 15_000);
    const body: Uint8Array = new Uint8Array(await (await fetch(ukiUrl)).arrayBuffer());
    expect(body).toEqual(uki.bytes);
    const kernel = await fetch(imageLayerUrl(app.url, `${registry.host}/boot/pxe`, pxe.tag, layer(pxe, "kernel").digest));
    expect(kernel.status).toBe(200);
    const kernelBytes: Uint8Array = new Uint8Array(await kernel.arrayBuffer());
    expect(kernelBytes).toEqual(layer(pxe, "kernel").bytes);
  });

  test("anything else of the allowed registry is 404 with a one-line reason", async () => {
    for (const url of [
      httpBootUkiUrl(app.url, `${registry.host}/boot/default`, layer(defaultImage, "uki", "arm64").digest),
      imageLayerUrl(app.url, `${registry.host}/boot/pxe`, pxe.tag, layer(pxe, "squashfs").digest),
      imageLayerUrl(app.url, `${registry.host}/boot/default`, defaultImage.tag, layer(defaultImage, "kernel").digest),
    ]) {
      const response = await fetch(url);
      expect(response.status).toBe(404);
      const text = await response.text();
      expect(text).toContain("is not referenced by any boot config");
      expect(text.trimEnd().includes("\n")).toBe(false);
    }
  });
});
