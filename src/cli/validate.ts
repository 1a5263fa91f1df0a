// `boot-operator validate PATH…`: every problem a set of resources has, one line each (file:line where the input is
// text), and a non-zero exit when any is an error. Checks what `serve` would: schemas, duplicates, conflicts,
// secrets, Butane, scripts. A PATH is a directory (read as directory mode reads it), a file, or `-` for standard
// input, so `kustomize build … | boot-operator validate -` checks what would be applied.

import { readFile, stat } from "node:fs/promises";
import { diagnoseAll } from "../boot/diagnose.ts";
import { parseIpxeTemplate } from "../boot/ipxe-template.ts";
import { BootStore } from "../boot/store.ts";
import { describeConflict } from "../index/boot-index.ts";
import { formatProblem, type SnapshotUpdate, type SourceProblem, snapshotOf } from "../index/snapshot.ts";
import { loadDirectoryOnce } from "../sources/files/directory-source.ts";
import { describeError } from "../sources/files/directory-walk.ts";
import { type DecodedFile, decodeResourceFile } from "../sources/files/documents.ts";
import { DEFAULT_PARSE_LIMITS } from "../sources/files/file-parser.ts";
import { ResourceSet } from "../sources/files/resource-set.ts";
import { UsageError } from "./flags.ts";

interface ValidateReport {
  errors: string[];
  warnings: string[];
  summary: string;
}

/** What problems call standard input. */
export const STDIN_ORIGIN = "(stdin)";

export async function validateDirectory(directory: string, ipxeTemplatePath?: string): Promise<ValidateReport> {
  return reportOn(await loadDirectoryOnce(directory), ipxeTemplatePath);
}

/** Where `-` reads from; a parameter so tests need not replace process.stdin. */
export type ReadStdin = () => Promise<string>;

export async function validateInputs(inputs: readonly string[], readStdin: ReadStdin, ipxeTemplatePath?: string): Promise<ValidateReport> {
  if (inputs.length === 0) throw new UsageError("validate needs a directory, a file, or - (standard input)");
  if (inputs.filter((input) => input === "-").length > 1) throw new UsageError("- (standard input) can be given only once");
  // Every directory is loaded as directory mode loads it, alone; files and stdin are decoded as one more directory
  // would decode them. The parts are then merged as one source.
  const updates: { origin: string; update: SnapshotUpdate }[] = [];
  const texts = new Map<string, DecodedFile>();
  for (const input of inputs) {
    if (input === "-") {
      texts.set(STDIN_ORIGIN, decodeText(STDIN_ORIGIN, await readStdin()));
      continue;
    }
    const info = await stat(input).catch((error: unknown) => error as Error);
    if (info instanceof Error) {
      texts.set(input, unreadable(input, info));
    } else if (info.isDirectory()) {
      updates.push({ origin: input, update: await loadDirectoryOnce(input) });
    } else if (info.size > DEFAULT_PARSE_LIMITS.maxBytes) {
      texts.set(input, failed(input, `file is ${info.size} bytes, more than the ${DEFAULT_PARSE_LIMITS.maxBytes} directory mode reads; skipped`));
    } else {
      const text = await readFile(input, "utf8").catch((error: unknown) => error as Error);
      texts.set(input, text instanceof Error ? unreadable(input, text) : decodeText(input, text));
    }
  }
  if (texts.size > 0) updates.push({ origin: "the files given", update: new ResourceSet().rebuild(texts) });
  return reportOn(mergeUpdates(updates), ipxeTemplatePath);
}

function decodeText(origin: string, text: string): DecodedFile {
  if (Buffer.byteLength(text) > DEFAULT_PARSE_LIMITS.maxBytes) {
    return failed(origin, `input is more than the ${DEFAULT_PARSE_LIMITS.maxBytes} bytes directory mode reads from one file; skipped`);
  }
  return decodeResourceFile(origin, text);
}

function unreadable(origin: string, error: Error): DecodedFile {
  return failed(origin, `cannot read: ${plainReadError(error)}`);
}

/** "no such file or directory" rather than Node's "ENOENT: no such file or directory, open '…'". */
function plainReadError(error: Error): string {
  const code = (error as { code?: string }).code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EISDIR") return "is a directory";
  return describeError(error);
}

function failed(origin: string, message: string): DecodedFile {
  return { ok: false, problem: { severity: "error", origin, path: "", message } };
}

/** One snapshot from several inputs; a resource defined by two of them is an error, the first one wins. */
function mergeUpdates(parts: readonly { origin: string; update: SnapshotUpdate }[]): SnapshotUpdate {
  const [only] = parts;
  if (parts.length === 1 && only) return only.update;
  const problems: SourceProblem[] = [];
  const seen = new Map<string, string>();
  const kept = <T extends { kind: string; metadata: { name: string; namespace?: string | undefined } }>(origin: string, object: T): boolean => {
    const key = `${object.kind}/${object.metadata.namespace ?? "default"}/${object.metadata.name}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, origin);
      return true;
    }
    problems.push({
      severity: "error",
      origin,
      kind: object.kind,
      name: `${object.metadata.namespace ?? "default"}/${object.metadata.name}`,
      path: "metadata.name",
      message: `defined again; the definition in ${first} is used`,
    });
    return false;
  };
  const ipxe = [];
  const http = [];
  const secrets = [];
  const firstSeen = new Map<string, number>();
  for (const { origin, update } of parts) {
    problems.push(...update.problems);
    ipxe.push(...update.snapshot.ipxeBootConfigs.filter((object) => kept(origin, object)));
    http.push(...update.snapshot.httpBootConfigs.filter((object) => kept(origin, object)));
    secrets.push(...update.snapshot.secrets.filter((object) => kept(origin, object)));
    // Earlier inputs rank before later ones, as earlier paths do within one directory.
    const offset = firstSeen.size;
    for (const [id, rank] of update.snapshot.firstSeen ?? []) if (!firstSeen.has(id)) firstSeen.set(id, offset + rank);
  }
  const snapshot = snapshotOf([
    ...ipxe.map((object) => ({ kind: "IPXEBootConfig" as const, object })),
    ...http.map((object) => ({ kind: "HTTPBootConfig" as const, object })),
    ...secrets.map((object) => ({ kind: "Secret" as const, object })),
  ]);
  return { snapshot: { ...snapshot, firstSeen }, problems };
}

async function reportOn(update: SnapshotUpdate, ipxeTemplatePath: string | undefined): Promise<ValidateReport> {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (ipxeTemplatePath) {
    const source = await readFile(ipxeTemplatePath, "utf8").catch((error: unknown) => error as Error);
    if (source instanceof Error) {
      errors.push(`${ipxeTemplatePath}: cannot read the iPXE template: ${plainReadError(source)}`);
    } else {
      try {
        parseIpxeTemplate(source);
      } catch (error) {
        errors.push(`${ipxeTemplatePath}: ${(error as Error).message}`);
      }
    }
  }
  const store = new BootStore();
  store.apply(update);
  for (const problem of update.problems) (problem.severity === "error" ? errors : warnings).push(formatProblem(problem));
  for (const conflict of store.index.conflicts) warnings.push(`conflict: ${describeConflict(conflict)}`);
  for (const diagnosis of diagnoseAll(store.index, store)) {
    for (const problem of diagnosis.problems) {
      if (problem.reason === "IdentifierConflict") continue; // already listed once above
      errors.push(`${diagnosis.kind} ${diagnosis.key}: ${problem.message}`);
    }
    for (const warning of diagnosis.warnings) warnings.push(`${diagnosis.kind} ${diagnosis.key}: ${warning}`);
  }
  const index = store.index;
  const switches = index.switchBootConfigs.length > 0 ? `${index.switchBootConfigs.length} SwitchBootConfig, ` : "";
  const summary = `${index.ipxeBootConfigs.length} IPXEBootConfig, ${index.httpBootConfigs.length} HTTPBootConfig, ${switches}${index.secrets.size} Secret; ${errors.length} error(s), ${warnings.length} warning(s)`;
  return { errors, warnings, summary };
}
