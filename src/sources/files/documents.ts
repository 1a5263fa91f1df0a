// Decoding resource files: multi-document YAML or JSON, each document validated on its own.
import { LineCounter, parseAllDocuments } from "yaml";
import { type BootResource, describeDocument, parseBootResource } from "../../api/index.ts";
import type { SourceProblem } from "../../index/snapshot.ts";

type DecodedDocument =
  | { ok: true; index: number; resource: BootResource }
  | { ok: false; index: number; identity: { kind?: string; namespace?: string; name?: string }; problems: SourceProblem[]; ignored: boolean };

export type DecodedFile = { ok: true; documents: DecodedDocument[] } | { ok: false; problem: SourceProblem };

export function decodeResourceFile(origin: string, text: string): DecodedFile {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const parsed = Array.isArray(documents) ? documents : [documents];
  for (const [index, document] of parsed.entries()) {
    const error = document.errors[0];
    if (error) {
      const position = lineCounter.linePos(error.pos[0]);
      return {
        ok: false,
        problem: {
          severity: "error",
          origin,
          document: index,
          path: "",
          message: `YAML syntax error at line ${position.line}, column ${position.col}: ${error.message.split("\n")[0]}`,
        },
      };
    }
  }
  const decoded: DecodedDocument[] = [];
  for (const [index, document] of parsed.entries()) {
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // an empty document between `---` separators
    const result = parseBootResource(value);
    if (result.ok) {
      decoded.push({ ok: true, index, resource: result.resource });
      continue;
    }
    const identity = describeDocument(value);
    decoded.push({
      ok: false,
      index,
      identity,
      ignored: result.ignored === true,
      problems: result.problems.map((problem) => ({
        severity: result.ignored ? "warning" : "error",
        origin,
        document: index,
        ...(identity.kind ? { kind: identity.kind } : {}),
        ...(identity.name ? { name: identity.name } : {}),
        path: problem.path,
        message: problem.message,
      })),
    });
  }
  return { ok: true, documents: decoded };
}
