// Parsing manifests (OCI image index / Docker manifest list, OCI / Docker image manifest) and choosing an
// index entry for a machine's architecture, including the legacy GardenLinux index layout.
import * as v from "valibot";
import { OciError } from "./errors.ts";
import { type BootLayerKind, bootLayerKind, type ManifestKind, manifestKindOf } from "./media-types.ts";
import { isDigest } from "./reference.ts";

const descriptor = v.looseObject({
  mediaType: v.optional(v.string()),
  digest: v.pipe(v.string(), v.check(isDigest, "must be a sha256 or sha512 digest")),
  size: v.pipe(v.number(), v.integer(), v.minValue(0)),
  annotations: v.optional(v.record(v.string(), v.string())),
});
const platform = v.looseObject({
  architecture: v.string(),
  os: v.optional(v.string()),
  variant: v.optional(v.string()),
});
const indexEntry = v.looseObject({
  ...descriptor.entries,
  platform: v.optional(platform),
});
const indexSchema = v.looseObject({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  manifests: v.array(indexEntry),
  annotations: v.optional(v.record(v.string(), v.string())),
});
const manifestSchema = v.looseObject({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  config: v.optional(descriptor),
  layers: v.array(descriptor),
  annotations: v.optional(v.record(v.string(), v.string())),
});

export type IndexEntry = v.InferOutput<typeof indexEntry>;
type ImageIndex = v.InferOutput<typeof indexSchema>;
type ImageManifest = v.InferOutput<typeof manifestSchema>;
export type ParsedManifest = { kind: "index"; index: ImageIndex } | { kind: "manifest"; manifest: ImageManifest };

/**
 * Parses manifest bytes. The kind comes from the JSON's own mediaType, else the response's Content-Type, else
 * the shape ("manifests" → index, "layers" → manifest), since some registries serve OCI content as plain JSON.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new OciError("INVALID_MANIFEST", `manifest is not JSON: ${(error as Error).message}`);
  }
  if (typeof json !== "object" || json === null) throw new OciError("INVALID_MANIFEST", "manifest is not a JSON object");
  const declared = "mediaType" in json && typeof json.mediaType === "string" ? json.mediaType : undefined;
  let kind: ManifestKind | undefined = declared ? manifestKindOf(declared) : undefined;
  if (!kind && contentType) kind = manifestKindOf(contentType);
  if (!kind) kind = "manifests" in json ? "index" : "layers" in json ? "manifest" : undefined;
  if (!kind) {
    throw new OciError("INVALID_MANIFEST", `unsupported manifest media type ${JSON.stringify(declared ?? contentType ?? "none")}`);
  }
  if (kind === "index") {
    const parsed = v.safeParse(indexSchema, json);
    if (!parsed.success) throw new OciError("INVALID_MANIFEST", `invalid image index: ${describeIssue(parsed.issues)}`);
    return { kind, index: parsed.output };
  }
  const parsed = v.safeParse(manifestSchema, json);
  if (!parsed.success) throw new OciError("INVALID_MANIFEST", `invalid image manifest: ${describeIssue(parsed.issues)}`);
  return { kind, manifest: parsed.output };
}

function describeIssue(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return "unknown problem";
  const path = issue.path?.map((item) => String(item.key)).join(".") ?? "";
  return path ? `${path}: ${issue.message}` : issue.message;
}

export type Architecture = "amd64" | "arm64";

const ARCHITECTURE_ALIASES: Record<string, string> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64" };

export function normalizeArchitecture(value: string): string {
  const lower = value.trim().toLowerCase();
  return ARCHITECTURE_ALIASES[lower] ?? lower;
}

/** Legacy GardenLinux indexes name the flavour in a "cname" annotation; PXE flavours start with this. */
const LEGACY_PXE_CNAME_PREFIX = "metal_pxe";

/** The architecture an index entry declares: its platform, else the legacy "architecture" annotation. */
export function entryArchitecture(entry: IndexEntry): string | undefined {
  const declared = entry.platform?.architecture ?? entry.annotations?.architecture;
  return declared ? normalizeArchitecture(declared) : undefined;
}

function isAttestation(entry: IndexEntry): boolean {
  return entry.annotations?.["vnd.docker.reference.type"] !== undefined || entry.platform?.architecture === "unknown";
}

/**
 * The index entries that may serve `architecture`, best first:
 *  1. entries for that architecture whose legacy cname starts with "metal_pxe" (the GardenLinux PXE flavour),
 *  2. other entries for that architecture (os "linux" or unset before other OSes),
 *  3. entries that declare no architecture at all, as a last resort.
 * Attestation manifests are never candidates. The caller walks the list until an entry has boot layers.
 */
export function rankIndexEntries(entries: readonly IndexEntry[], architecture: string): IndexEntry[] {
  const wanted = normalizeArchitecture(architecture);
  const scored: { entry: IndexEntry; score: number; order: number }[] = [];
  entries.forEach((entry, order) => {
    if (isAttestation(entry)) return;
    const declared = entryArchitecture(entry);
    if (declared !== undefined && declared !== wanted) return;
    let score: number;
    if (declared === undefined) score = 3;
    else if (entry.annotations?.cname?.startsWith(LEGACY_PXE_CNAME_PREFIX)) score = 0;
    else if (entry.platform?.os === undefined || entry.platform.os === "linux") score = 1;
    else score = 2;
    scored.push({ entry, score, order });
  });
  scored.sort((a, b) => a.score - b.score || a.order - b.order);
  return scored.map((item) => item.entry);
}

interface BootLayer {
  digest: string;
  size: number;
  mediaType: string;
}

export type BootLayers = Partial<Record<BootLayerKind, BootLayer>>;

/** The first layer of each boot kind (UKI, kernel, initrd, squashfs), by media type. */
export function findBootLayers(manifest: ImageManifest): BootLayers {
  const found: BootLayers = {};
  for (const layer of manifest.layers) {
    if (!layer.mediaType) continue;
    const kind = bootLayerKind(layer.mediaType);
    if (kind && !found[kind]) found[kind] = { digest: layer.digest, size: layer.size, mediaType: layer.mediaType };
  }
  return found;
}

export function hasBootLayers(layers: BootLayers): boolean {
  return layers.uki !== undefined || layers.kernel !== undefined || layers.initrd !== undefined;
}
