// What crosses the worker boundary for one Butane translation: plain data on both sides, diagnostics already
// formatted, so the serving thread never runs the translator and the worker never needs the boot layer.
import { type ButaneResult, formatButaneDiagnostic, translateButane } from "./index.ts";

export interface TranslateRequest {
  source: string;
}

export type TranslatedButane = { ok: true; ignitionJson: string; warnings: string[] } | { ok: false; errors: string[] };

export function translatedButane(result: ButaneResult): TranslatedButane {
  if (result.ok) return { ok: true, ignitionJson: result.ignitionJson, warnings: result.warnings.map(formatButaneDiagnostic) };
  return { ok: false, errors: result.errors.map(formatButaneDiagnostic) };
}

export function runTranslateTask(request: TranslateRequest): TranslatedButane {
  return translatedButane(translateButane(request.source));
}
