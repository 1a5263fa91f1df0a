// What every resource source delivers. The index and the routes never learn which source is running.
import type { ResourceSnapshot } from "../index/boot-index.ts";

export interface SourceProblem {
  severity: "error" | "warning";
  /** File (directory source) or "namespace/name" (API server source) the problem belongs to. */
  origin: string;
  /** 0-based document index within a multi-document file. */
  document?: number;
  kind?: string;
  name?: string;
  /** Dotted field path, e.g. spec.kernelURL; empty for whole-document problems. */
  path: string;
  message: string;
}

export function formatProblem(problem: SourceProblem): string {
  const where = problem.document === undefined ? problem.origin : `${problem.origin}#${problem.document}`;
  const what = problem.kind && problem.name ? ` ${problem.kind} ${problem.name}` : "";
  const field = problem.path ? ` ${problem.path}:` : "";
  return `${where}${what}:${field} ${problem.message}`;
}

export interface SnapshotUpdate {
  snapshot: ResourceSnapshot;
  /** Every problem known right now (not just new ones), so `validate` and status can show the full picture. */
  problems: SourceProblem[];
}

export interface ResourceSource {
  readonly description: string;
  /** Delivers the first full snapshot before resolving, then one per change. */
  start(onUpdate: (update: SnapshotUpdate) => void): Promise<void>;
  stop(): Promise<void>;
  /** Re-read now (SIGHUP); sources that push changes themselves may ignore it. */
  reload?(): void;
}
