// What a source hands the index: the resources of one moment and every problem found reading them. Defined here,
// below the sources, so that the index and the boot store depend on no particular source.
import type { BootResource } from "../api/index.ts";
import type { ResourceSnapshot } from "./boot-index.ts";

export interface SourceProblem {
  severity: "error" | "warning";
  /** File (directory source) or "namespace/name" (API server source) the problem belongs to. */
  origin: string;
  /** 0-based document index within a multi-document file. */
  document?: number;
  /** 1-based line in the file of the field (or document) the problem is about, when the source is text. */
  line?: number;
  kind?: string;
  name?: string;
  /** Dotted field path, e.g. spec.kernelURL; empty for whole-document problems. */
  path: string;
  message: string;
}

export function formatProblem(problem: SourceProblem): string {
  // file:line is what editors and terminals jump to; the line says which document it is, too.
  const where =
    problem.line !== undefined
      ? `${problem.origin}:${problem.line}`
      : problem.document === undefined
        ? problem.origin
        : `${problem.origin}#${problem.document}`;
  const what = problem.kind && problem.name ? ` ${problem.kind} ${problem.name}` : "";
  const field = problem.path ? ` ${problem.path}:` : "";
  return `${where}${what}:${field} ${problem.message}`;
}

export interface SnapshotUpdate {
  snapshot: ResourceSnapshot;
  /** Every problem known right now (not just new ones), so `validate` and status can show the full picture. */
  problems: SourceProblem[];
}

export function snapshotOf(resources: readonly BootResource[]): ResourceSnapshot {
  const snapshot = { ipxeBootConfigs: [], httpBootConfigs: [], switchBootConfigs: [], secrets: [] } as {
    ipxeBootConfigs: ResourceSnapshot["ipxeBootConfigs"][number][];
    httpBootConfigs: ResourceSnapshot["httpBootConfigs"][number][];
    switchBootConfigs: NonNullable<ResourceSnapshot["switchBootConfigs"]>[number][];
    secrets: ResourceSnapshot["secrets"][number][];
  };
  for (const resource of resources) {
    if (resource.kind === "IPXEBootConfig") snapshot.ipxeBootConfigs.push(resource.object);
    else if (resource.kind === "HTTPBootConfig") snapshot.httpBootConfigs.push(resource.object);
    else if (resource.kind === "SwitchBootConfig") snapshot.switchBootConfigs.push(resource.object);
    else snapshot.secrets.push(resource.object);
  }
  return snapshot;
}
