// Media types of manifests and of the boot layers inside them (current ironcore names and legacy GardenLinux ones).

export const MEDIA_TYPE_OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const MEDIA_TYPE_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const MEDIA_TYPE_DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const MEDIA_TYPE_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

const MEDIA_TYPE_UKI = "application/vnd.ironcore.image.uki";
const MEDIA_TYPE_KERNEL = "application/vnd.ironcore.image.kernel";
const MEDIA_TYPE_INITRAMFS = "application/vnd.ironcore.image.initramfs";
const MEDIA_TYPE_SQUASHFS = "application/vnd.ironcore.image.squashfs";
const MEDIA_TYPE_LEGACY_KERNEL = "application/io.gardenlinux.kernel";
const MEDIA_TYPE_LEGACY_INITRD = "application/io.gardenlinux.initrd";
const MEDIA_TYPE_LEGACY_SQUASHFS = "application/io.gardenlinux.squashfs";

/** Everything we can read, best first, for the Accept header of manifest requests. */
export const MANIFEST_ACCEPT = [MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST_LIST, MEDIA_TYPE_DOCKER_MANIFEST].join(", ");

export type ManifestKind = "index" | "manifest";
export type BootLayerKind = "uki" | "kernel" | "initrd" | "squashfs";

const BOOT_LAYER_KINDS: ReadonlyMap<string, BootLayerKind> = new Map([
  [MEDIA_TYPE_UKI, "uki"],
  [MEDIA_TYPE_KERNEL, "kernel"],
  [MEDIA_TYPE_LEGACY_KERNEL, "kernel"],
  [MEDIA_TYPE_INITRAMFS, "initrd"],
  [MEDIA_TYPE_LEGACY_INITRD, "initrd"],
  [MEDIA_TYPE_SQUASHFS, "squashfs"],
  [MEDIA_TYPE_LEGACY_SQUASHFS, "squashfs"],
]);

/** "Application/Foo+JSON; charset=utf-8" → "application/foo+json". */
export function essence(mediaType: string): string {
  return (mediaType.split(";")[0] ?? "").trim().toLowerCase();
}

export function bootLayerKind(mediaType: string): BootLayerKind | undefined {
  return BOOT_LAYER_KINDS.get(essence(mediaType));
}

export function manifestKindOf(mediaType: string): ManifestKind | undefined {
  switch (essence(mediaType)) {
    case MEDIA_TYPE_OCI_INDEX:
    case MEDIA_TYPE_DOCKER_MANIFEST_LIST:
      return "index";
    case MEDIA_TYPE_OCI_MANIFEST:
    case MEDIA_TYPE_DOCKER_MANIFEST:
      return "manifest";
    default:
      return undefined;
  }
}
