// Decoding resource files: multi-document YAML or JSON, each document validated on its own. A `kind: List` (or
// `kind: …List`) document contributes each of its items, as `kubectl apply -f` reads it. Pure and synchronous:
// the directory source runs it on a worker (parse-worker.ts) with a time budget, the embedded samples inline.
import { type BootResource, describeDocument, parseBootResource } from "../../api/index.ts";
import type { SourceProblem } from "../../index/snapshot.ts";
import { decodePlainYaml } from "./plain-yaml.ts";
import { DEFAULT_YAML_LIMITS, decodeYamlStream, type YamlLimits } from "./yaml-stream.ts";

type DecodedDocument =
  | { ok: true; index: number; resource: BootResource }
  | { ok: false; index: number; identity: { kind?: string; namespace?: string; name?: string }; problems: SourceProblem[]; ignored: boolean };

export type DecodedFile = { ok: true; documents: DecodedDocument[] } | { ok: false; problem: SourceProblem };

/** A document with thousands of unknown fields must not turn into thousands of log lines. */
export const MAX_PROBLEMS_PER_DOCUMENT = 20;

export function decodeResourceFile(origin: string, text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): DecodedFile {
  const stream = decodeYamlStream(text, limits);
  if (!stream.ok) {
    const { document, line, column, message, limit } = stream.failure;
    return {
      ok: false,
      problem: {
        severity: "error",
        origin,
        document,
        path: "",
        message: `${limit ? "refused" : "YAML syntax error"} at line ${line}, column ${column}: ${message}`,
      },
    };
  }
  return { ok: true, documents: decodeDocuments(origin, stream.documents, (index, path) => stream.lineOf(index, path)) };
}

/**
 * The cheap path for small files in the plain YAML subset (plain-yaml.ts) that decode without a problem: the same
 * result as decodeResourceFile. Undefined for anything else, which then takes decodeResourceFile on a worker (so
 * problems also get their line numbers there).
 */
export function decodePlainResourceFile(origin: string, text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): DecodedFile | undefined {
  const values = decodePlainYaml(text, limits.maxDepth);
  if (!values) return undefined;
  const documents = decodeDocuments(origin, values, () => undefined);
  return documents.every((document) => document.ok) ? { ok: true, documents } : undefined;
}

function decodeDocuments(
  origin: string,
  values: readonly unknown[],
  lineOf: (document: number, path: readonly string[]) => number | undefined,
): DecodedDocument[] {
  const decoded: DecodedDocument[] = [];
  for (const [index, value] of values.entries()) {
    if (value === null || value === undefined) continue; // an empty document between `---` separators
    const items = listItems(value);
    const lineIn = (path: string): number | undefined => lineOf(index, path === "" ? [] : path.split("."));
    if (items) for (const [position, item] of items.entries()) decoded.push(decodeDocument(origin, index, item, `items.${position}`, lineIn));
    else decoded.push(decodeDocument(origin, index, value, "", lineIn));
  }
  return decoded;
}

/** Items of a `kind: List` / `kind: IPXEBootConfigList` … document; undefined for any other document. */
function listItems(value: unknown): unknown[] | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { kind, items } = value as { kind?: unknown; items?: unknown };
  return typeof kind === "string" && kind.endsWith("List") && Array.isArray(items) ? items : undefined;
}

/** `lineOf`: the line of a dotted path in this document (a key containing "." is located at its mapping). */
function decodeDocument(origin: string, index: number, value: unknown, itemPath: string, lineOf: (path: string) => number | undefined): DecodedDocument {
  const result = parseBootResource(value);
  if (result.ok) return { ok: true, index, resource: result.resource };
  const identity = describeDocument(value);
  const problems: SourceProblem[] = result.problems.slice(0, MAX_PROBLEMS_PER_DOCUMENT).map((problem) => {
    const path = [itemPath, problem.path].filter((part) => part !== "").join(".");
    const line = lineOf(path);
    return {
      severity: result.ignored ? "warning" : "error",
      origin,
      document: index,
      ...(line === undefined ? {} : { line }),
      ...(identity.kind ? { kind: identity.kind } : {}),
      ...(identity.name ? { name: identity.name } : {}),
      path,
      message: problem.message,
    };
  });
  const hidden = result.problems.length - problems.length;
  if (hidden > 0) {
    problems.push({
      severity: result.ignored ? "warning" : "error",
      origin,
      document: index,
      ...(identity.kind ? { kind: identity.kind } : {}),
      ...(identity.name ? { name: identity.name } : {}),
      path: itemPath,
      message: `and ${hidden} more problem(s) not listed`,
    });
  }
  return { ok: false, index, identity, ignored: result.ignored === true, problems };
}
