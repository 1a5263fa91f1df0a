// Runs the real appliance (the compiled dist/boot-operator) for the end-to-end tests: one instance per test, on
// a free loopback port, with a directory of resources and a UKI directory; collects its JSON logs and metrics.
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { stringify } from "yaml";
import { eventually } from "../harness/wait.ts";
import { HOST_FROM_GUEST, lastLines, registerExitCleanup } from "./qemu.ts";

const REPO_ROOT = resolve(import.meta.dir, "../..");
export const APPLIANCE_BINARY = join(REPO_ROOT, "dist/boot-operator");

// ---------------------------------------------------------------------------------------------------------------
// The binary

function newestMtimeMs(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

let binaryChecked = false;

/** dist/boot-operator, built with `bun run build` when it is missing or older than the sources. */
export function applianceBinary(): string {
  if (binaryChecked) return APPLIANCE_BINARY;
  const sourcesMtime = Math.max(newestMtimeMs(join(REPO_ROOT, "src")), newestMtimeMs(join(REPO_ROOT, "package.json")));
  if (!existsSync(APPLIANCE_BINARY) || statSync(APPLIANCE_BINARY).mtimeMs < sourcesMtime) {
    const build = Bun.spawnSync([join(REPO_ROOT, "node_modules/.bin/bun"), "run", "build"], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
    if (build.exitCode !== 0 || !existsSync(APPLIANCE_BINARY)) {
      const output = `${build.stdout.toString()}\n${build.stderr.toString()}`;
      throw new Error(`building the appliance (bun run build) failed with exit ${build.exitCode}:\n${lastLines(output, 30)}`);
    }
  }
  binaryChecked = true;
  return APPLIANCE_BINARY;
}

// ---------------------------------------------------------------------------------------------------------------
// Logs and metrics

export interface ApplianceLogLine {
  msg: string;
  level?: string;
  route?: string;
  status?: number;
  client?: string;
  path?: string;
  method?: string;
  [field: string]: unknown;
}

/** JSON-lines logs; lines that are not JSON objects (a panic, a stray print) are kept as { msg: line }. */
export function parseJsonLogLines(text: string): ApplianceLogLine[] {
  const lines: ApplianceLogLine[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && typeof (parsed as { msg?: unknown }).msg === "string") {
        lines.push(parsed as ApplianceLogLine);
        continue;
      }
    } catch {
      // Not JSON: keep it verbatim below.
    }
    lines.push({ msg: line });
  }
  return lines;
}

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition format: samples only (# HELP/# TYPE skipped); label values unescaped. */
export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(trimmed);
    if (!match) continue;
    const [, name = "", labelText = "", valueText = ""] = match;
    const labels: Record<string, string> = {};
    for (const label of labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      const [, key = "", raw = ""] = label;
      labels[key] = raw.replace(/\\(.)/g, (_, escaped: string) => (escaped === "n" ? "\n" : escaped));
    }
    samples.push({ name, labels, value: Number(valueText) });
  }
  return samples;
}

/** Sum of a metric's samples whose labels include all of `where`. */
export function metricSum(samples: readonly MetricSample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(where).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Resources (Kubernetes-shaped YAML in the --source dir: directory)

export const API_VERSION = "boot.ironcore.dev/v1alpha1";

export interface IpxeBootConfigSpec {
  systemUUID: string;
  systemIPs?: string[];
  kernelURL: string;
  initrdURL: string;
  squashfsURL?: string;
  ignitionSecretRef?: { name: string };
  ipxeScriptSecretRef?: { name: string };
}

export interface HttpBootConfigSpec {
  systemUUID: string;
  networkIdentifiers?: string[];
  ukiURL: string;
  ignitionSecretRef?: { name: string };
}

export type BootResource =
  | { kind: "IPXEBootConfig"; name: string; spec: IpxeBootConfigSpec }
  | { kind: "HTTPBootConfig"; name: string; spec: HttpBootConfigSpec }
  | { kind: "Secret"; name: string; stringData: Record<string, string> };

export function resourceDocument(resource: BootResource, namespace = "default"): Record<string, unknown> {
  const metadata = { name: resource.name, namespace };
  if (resource.kind === "Secret") return { apiVersion: "v1", kind: "Secret", metadata, type: "Opaque", stringData: resource.stringData };
  return { apiVersion: API_VERSION, kind: resource.kind, metadata, spec: resource.spec };
}

/** Writes the resources as one multi-document YAML file in `directory`. */
export function writeResources(directory: string, fileName: string, resources: readonly BootResource[]): void {
  const text = resources.map((resource) => stringify(resourceDocument(resource))).join("---\n");
  writeFileSync(join(directory, fileName), text);
}

// ---------------------------------------------------------------------------------------------------------------
// A running appliance

/** A loopback port that was free a moment ago (the appliance binds it right after). */
export function freeLoopbackPort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

export interface ApplianceOptions {
  resourcesDir: string;
  ukiDir: string;
  port: number;
  /** --public-url; default: the plain listener as the guest sees it (http://10.0.2.2:<port>). */
  publicUrl?: string;
  extraArgs?: string[];
}

export interface RunningAppliance {
  /** URL the tests use from the host. */
  hostUrl: string;
  /** URL the guest uses (QEMU user-mode networking maps 10.0.2.2 to the host's loopback). */
  publicUrl: string;
  logs(): ApplianceLogLine[];
  /** Debug "request" log lines, one per HTTP request the appliance answered. */
  requests(): ApplianceLogLine[];
  metrics(): Promise<MetricSample[]>;
  stop(): Promise<void>;
}

const running = new Set<Subprocess>();
registerExitCleanup(() => {
  for (const appliance of running) appliance.kill("SIGKILL");
});

export async function startAppliance(options: ApplianceOptions): Promise<RunningAppliance> {
  const binary = applianceBinary();
  const hostUrl = `http://127.0.0.1:${options.port}`;
  const publicUrl = options.publicUrl ?? `http://${HOST_FROM_GUEST}:${options.port}`;
  const argv = [
    binary,
    "serve",
    "--source",
    `dir:${options.resourcesDir}`,
    "--uki-dir",
    options.ukiDir,
    "--public-url",
    publicUrl,
    "--listen",
    `127.0.0.1:${options.port}`,
    "--log-level",
    "debug",
    ...(options.extraArgs ?? []),
  ];
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  running.add(child);
  let stderrText = "";
  let stdoutText = "";
  const collect = async (stream: ReadableStream<Uint8Array>, append: (text: string) => void): Promise<void> => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) append(decoder.decode(chunk, { stream: true }));
  };
  const collecting = Promise.all([collect(child.stderr, (text) => (stderrText += text)), collect(child.stdout, (text) => (stdoutText += text))]);

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(5_000).then(() => false)]);
      if (!exited) child.kill("SIGKILL");
    }
    await child.exited;
    await collecting;
    running.delete(child);
  };

  // Ready when /readyz answers 200; give up (with its output) if it exits or takes too long.
  try {
    await eventually(async () => (await fetch(`${hostUrl}/readyz`)).status === 200, "the appliance to answer /readyz with 200", {
      timeoutMs: 20_000,
      abortIf: () => (child.exitCode !== null || child.signalCode !== null ? `it exited (${child.exitCode ?? child.signalCode})` : undefined),
    });
  } catch (error) {
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}:\n${lastLines(stderrText + stdoutText, 30)}`, { cause: error });
  }

  const logs = (): ApplianceLogLine[] => parseJsonLogLines(stderrText);
  return {
    hostUrl,
    publicUrl,
    logs,
    requests: () => logs().filter((line) => line.msg === "request"),
    metrics: async () => parsePrometheusText(await (await fetch(`${hostUrl}/metrics`)).text()),
    stop,
  };
}
