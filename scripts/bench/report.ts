// Formatting: the machine description and the one Markdown table the benchmark prints and saves.
import { readFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";

interface MachineDescription {
  date: string;
  commit: string;
  cpuModel: string;
  cores: number;
  ramGiB: number;
  kernel: string;
  bunVersion: string;
  toolVersions: string[];
}

export async function describeMachine(options: { commit: string; bunVersion: string; toolVersions: string[] }): Promise<MachineDescription> {
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown";
  const kernel = (await readFile("/proc/sys/kernel/osrelease", "utf8").catch(() => "unknown")).trim();
  return {
    date: new Date().toISOString(),
    commit: options.commit,
    cpuModel: model,
    cores: cpus().length,
    ramGiB: totalmem() / 1024 ** 3,
    kernel,
    bunVersion: options.bunVersion,
    toolVersions: options.toolVersions,
  };
}

export interface Row {
  measurement: string;
  /** Throughput, duration, size: the main number. */
  value: string;
  p50?: string;
  p99?: string;
  /** CPU time of the serving process per request: steadier than req/s on a shared 2-core machine. */
  cpu?: string;
  ratio?: string;
  target?: string;
  /** true: target met, false: missed, undefined: no target. */
  met?: boolean;
}

export function markdownTable(rows: readonly Row[]): string {
  const header = "| measurement | result | p50 | p99 | server CPU / request | ratio | target | met |\n|---|---:|---:|---:|---:|---:|---|:-:|";
  const cell = (text: string | undefined): string => (text ?? "").replace(/\|/g, "\\|");
  const lines = rows.map(
    (row) =>
      `| ${cell(row.measurement)} | ${cell(row.value)} | ${cell(row.p50)} | ${cell(row.p99)} | ${cell(row.cpu)} | ${cell(row.ratio)} | ${cell(row.target)} | ${row.met === undefined ? "" : row.met ? "✓" : "✗"} |`,
  );
  return [header, ...lines].join("\n");
}

export function machineSection(machine: MachineDescription, settings: string[]): string {
  return [
    `- date: ${machine.date}`,
    `- commit: ${machine.commit}`,
    `- machine: ${machine.cores} × ${machine.cpuModel}, ${machine.ramGiB.toFixed(1)} GiB RAM, Linux ${machine.kernel}`,
    `- Bun ${machine.bunVersion}; ${machine.toolVersions.join(", ")}`,
    ...settings.map((line) => `- ${line}`),
  ].join("\n");
}

export function formatRate(requestsPerSecond: number): string {
  return `${Math.round(requestsPerSecond).toLocaleString("en-US")} req/s`;
}

export function formatBytesPerSecond(bytesPerSecond: number): string {
  const gib = bytesPerSecond / 1024 ** 3;
  return gib >= 1 ? `${gib.toFixed(2)} GiB/s` : `${(bytesPerSecond / 1024 ** 2).toFixed(0)} MiB/s`;
}

export function formatMs(milliseconds: number): string {
  if (milliseconds >= 1000) return `${(milliseconds / 1000).toFixed(2)} s`;
  if (milliseconds >= 10) return `${milliseconds.toFixed(0)} ms`;
  return `${milliseconds.toFixed(2)} ms`;
}

export function formatMicros(microseconds: number): string {
  return Number.isFinite(microseconds) ? `${microseconds.toFixed(1)} µs` : "–";
}

export function formatRatio(ratio: number, of: string): string {
  return `${ratio.toFixed(2)}× ${of}`;
}

export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest-rank: p99 of 100 values is the 99th smallest, not an interpolation.
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted.at(rank - 1) ?? NaN; // only a fraction above 1 reaches past the end
}
