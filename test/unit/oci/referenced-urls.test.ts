// Which blobs the proxy may hand out: the URLs of the index's configs and their custom iPXE scripts.
import { describe, expect, test } from "bun:test";
import { bootConfigUrls } from "../../../src/cli/oci-runtime.ts";
import { BootIndex } from "../../../src/index/boot-index.ts";
import { blobKey, httpBootUkiUrl, imageLayerUrl, proxiedBlobOfUrl } from "../../../src/oci/urls.ts";
import { httpConfig, ipxeConfig, secret } from "../fixtures.ts";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const C = `sha256:${"c".repeat(64)}`;
const D = `sha256:${"d".repeat(64)}`;

describe("referenced blobs", () => {
  test("config URLs and proxy URLs inside custom iPXE scripts are collected; other URLs name no blob", () => {
    const script = `#!ipxe\nkernel ${imageLayerUrl("http://boot.example:8082", "ghcr.io/os/pxe", "1.0", C)} console=ttyS0\ninitrd http://files.example/initrd\nboot\n`;
    const index = new BootIndex({
      ipxeBootConfigs: [
        ipxeConfig("a", { kernelURL: imageLayerUrl("", "ghcr.io/os/pxe", "1.0", A) }),
        ipxeConfig("scripted", { ipxeScriptSecretRef: { name: "script" } }),
      ],
      httpBootConfigs: [httpConfig("h", { ukiURL: httpBootUkiUrl("http://boot.example:8083", "ghcr.io/os/uki", B) })],
      secrets: [secret("script", { "ipxe-script": script })],
    });
    const keys = new Set(
      bootConfigUrls(index)
        .flatMap((url) => proxiedBlobOfUrl(url) ?? [])
        .map(blobKey),
    );
    expect(keys).toEqual(new Set([`ghcr.io/os/pxe@${A}`, `ghcr.io/os/uki@${B}`, `ghcr.io/os/pxe@${C}`]));
    expect(keys.has(`ghcr.io/os/pxe@${D}`)).toBe(false);
  });

  test("Docker Hub aliases name one registry", () => {
    const short = proxiedBlobOfUrl(httpBootUkiUrl("", "docker.io/library/os", A));
    const long = proxiedBlobOfUrl(httpBootUkiUrl("", "registry-1.docker.io/library/os", A));
    if (!short || !long) throw new Error("not parsed");
    expect(blobKey(short)).toBe(blobKey(long));
  });
});
