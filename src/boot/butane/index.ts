/**
 * Butane → Ignition translation for Butane secrets, equivalent to Butane v0.28.0's TranslateBytes as the Go
 * boot-operator calls it (raw output, no automatic resource compression, no files directory). Pure: no file
 * system, no network, no runtime-specific APIs.
 *
 * Supported: every stable spec of fcos (1.0.0–1.7.0 → Ignition 3.0.0–3.6.0), flatcar (1.0.0–1.1.0), r4e
 * (1.0.0–1.1.0) and fiot (1.0.0). The variant is the document's own `variant`. Warnings (an unused key, a mode
 * that looks decimal, …) do not stop the translation, as in Butane; errors do. Anything that needs files next
 * to the config (`local`, `contents_local`, `ssh_authorized_keys_local`, `storage.trees`) is an error, because
 * the server has no files directory.
 */

import { isSeq } from "yaml";
import { butaneSchema } from "./butane-schema.ts";
import { type ButaneDiagnostic, DiagnosticReport, formatButaneDiagnostic } from "./diagnostics.ts";
import { encodeObject, ignitionSchema } from "./ignition-model.ts";
import { lookupSpec, normalizeSemver, unsupportedSpecMessage } from "./spec.ts";
import { translateBase } from "./translate-base.ts";
import { applyFcosSugar } from "./translate-fcos.ts";
import { validateButane } from "./validate-butane.ts";
import { applyFilters, validateIgnition } from "./validate-ignition.ts";
import { decodeObject, getString, parseButaneYaml, reportUnusedKeys } from "./yaml-decode.ts";

export type { ButaneDiagnostic } from "./diagnostics.ts";
export type { ButaneVariant } from "./spec.ts";
export { SUPPORTED_SPECS } from "./spec.ts";
export { formatButaneDiagnostic };

export type ButaneResult =
  | { ok: true; ignitionJson: string; ignitionVersion: string; warnings: ButaneDiagnostic[] }
  | { ok: false; errors: ButaneDiagnostic[]; warnings: ButaneDiagnostic[] };

function failed(report: DiagnosticReport): ButaneResult {
  return { ok: false, errors: report.errors, warnings: report.warnings };
}

export function translateButane(source: string): ButaneResult {
  try {
    return translate(source);
  } catch (error) {
    // A bug must not take down the caller's hot path: report it like any other failed translation.
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, errors: [{ severity: "error", path: "", message: `internal translator error: ${message}` }], warnings: [] };
  }
}

function translate(source: string): ButaneResult {
  let locate = (_path: readonly (string | number)[]): { line: number; column: number } | undefined => undefined;
  const report = new DiagnosticReport((path) => locate(path));

  const parsed = parseButaneYaml(source, (message, position) => report.error([], `error parsing YAML: ${message}`, position));
  locate = parsed.locate;
  if (report.hasErrors) return failed(report);

  // Butane reads variant and version first to pick the translator; nothing else is looked at before that.
  // (A sequence at the root decodes into nothing there, as in Butane, so it asks for a variant.)
  const headerRoot = isSeq(parsed.root) ? null : parsed.root;
  const header = decodeObject(headerRoot, { variant: { kind: "string" }, version: { kind: "string" } }, [], {
    report,
    resolveAlias: parsed.resolveAlias,
  });
  if (report.hasErrors) return failed(report);
  const variant = getString(header, "variant");
  const version = getString(header, "version") ?? "";
  if (variant === undefined || variant === "") {
    report.error(["variant"], "error parsing variant; must be specified");
    return failed(report);
  }
  const normalizedVersion = normalizeSemver(version);
  if (normalizedVersion === undefined) {
    report.error(["version"], "error parsing version; must be a valid semver");
    return failed(report);
  }
  const spec = lookupSpec(variant, normalizedVersion);
  if (!spec) {
    report.error(["version"], unsupportedSpecMessage(variant, normalizedVersion));
    return failed(report);
  }

  const schema = butaneSchema(spec);
  const root = decodeObject(parsed.root, schema, [], { report, resolveAlias: parsed.resolveAlias });
  if (report.hasErrors) return failed(report);
  reportUnusedKeys(root, schema, parsed, report);

  validateButane(root, spec, report);
  if (report.hasErrors) return failed(report);

  const ignitionSchemaForSpec = ignitionSchema(spec.ignitionMinor);
  const context = { spec, schema: ignitionSchemaForSpec, report };
  let config = translateBase(root, context);
  if (spec.variant === "fcos") config = applyFcosSugar(root, config, context);
  if (report.hasErrors) return failed(report);

  applyFilters(config, spec, ignitionSchemaForSpec, report);
  if (report.hasErrors) return failed(report);

  validateIgnition(config, spec, ignitionSchemaForSpec, report);
  if (report.hasErrors) return failed(report);

  return {
    ok: true,
    ignitionJson: encodeObject(config, "Config", ignitionSchemaForSpec),
    ignitionVersion: spec.ignitionVersion,
    warnings: report.warnings,
  };
}
