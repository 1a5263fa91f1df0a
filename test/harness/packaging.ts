// The packaging tools the tests render manifests with: kustomize (the cached build of scripts/ensure/kustomize.sh,
// else `kubectl kustomize`) and helm (the cached build of scripts/ensure/helm.sh). Renders are parsed into objects
// so tests compare what would be applied, not YAML text.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { type KubeManifest, REPO_ROOT } from "../../scripts/generate-manifests.ts";

const CACHE_ROOT = process.env.BOOT_OPERATOR_CACHE ?? join(homedir(), ".cache", "boot-operator");

/** The version an ensure script pins (`name_version="vX.Y.Z"`), so the script stays the one place it is written. */
async function pinnedVersion(script: string, variable: string): Promise<string> {
  const text = await Bun.file(join(REPO_ROOT, "scripts/ensure", script)).text();
  const version = new RegExp(`^${variable}="([^"]+)"$`, "m").exec(text)?.[1];
  if (!version) throw new Error(`scripts/ensure/${script} pins no ${variable}`);
  return version;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runTool(command: readonly string[], options: { cwd?: string; stdin?: string } = {}): Promise<CommandResult> {
  const child = Bun.spawn([...command], {
    cwd: options.cwd ?? REPO_ROOT,
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

async function runOk(command: readonly string[], options: { cwd?: string; stdin?: string } = {}): Promise<string> {
  const result = await runTool(command, options);
  if (result.code !== 0) throw new Error(`${command.join(" ")} exited with ${result.code}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

export function parseManifests(text: string): KubeManifest[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as KubeManifest | null)
    .filter((manifest): manifest is KubeManifest => manifest !== null);
}

async function kustomizeCommand(): Promise<string[]> {
  const cached = join(CACHE_ROOT, `kustomize-${await pinnedVersion("kustomize.sh", "kustomize_version")}`, "kustomize");
  if (existsSync(cached)) return [cached, "build"];
  return ["kubectl", "kustomize"];
}

/** `kustomize build directory`, as objects. */
export async function kustomizeBuild(directory: string): Promise<KubeManifest[]> {
  return parseManifests(await runOk([...(await kustomizeCommand()), directory]));
}

export async function helmBinary(): Promise<string> {
  const binary = join(CACHE_ROOT, `helm-${await pinnedVersion("helm.sh", "helm_version")}`, "helm");
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run "bash scripts/ensure/helm.sh" (the test command does)`);
  return binary;
}

export const CHART_DIR = join(REPO_ROOT, "chart/boot-operator");

/** `helm template` of the chart with `--set`-style values, as objects. */
export async function helmTemplate(values: Record<string, string> = {}, extraArgs: readonly string[] = []): Promise<KubeManifest[]> {
  const sets = Object.entries(values).flatMap(([key, value]) => ["--set", `${key}=${value}`]);
  return parseManifests(await runOk([await helmBinary(), "template", "boot-operator", CHART_DIR, ...sets, ...extraArgs]));
}

/** One key per object, for comparing two renders regardless of order. */
export function objectKey(manifest: KubeManifest): string {
  return `${manifest.kind} ${manifest.metadata.namespace ?? ""}/${manifest.metadata.name}`;
}

/** Objects by objectKey(), in key order (so two maps with the same objects compare, and diff, alike). */
export function byKey(manifests: readonly KubeManifest[]): Map<string, KubeManifest> {
  const map = new Map<string, KubeManifest>();
  for (const manifest of [...manifests].sort((a, b) => objectKey(a).localeCompare(objectKey(b)))) {
    if (map.has(objectKey(manifest))) throw new Error(`${objectKey(manifest)} rendered twice`);
    map.set(objectKey(manifest), manifest);
  }
  return map;
}
