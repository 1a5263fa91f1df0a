/**
 * Butane → Ignition translation for `format: fcos` secrets, equivalent to `butane --raw` without automatic
 * resource compression. Pure: no file system, no network, no runtime-specific APIs.
 *
 * Supported: fcos 1.0.0–1.6.0 (Ignition 3.0.0–3.5.0) and flatcar 1.0.0–1.1.0 (Ignition 3.3.0–3.4.0).
 * Anything that needs files next to the config (`local`, `contents_local`, `ssh_authorized_keys_local`,
 * `storage.trees`) is an error, because the server has no files directory.
 */

import { butaneSchema } from "./butane-schema.ts";
import { type ButaneDiagnostic, DiagnosticReport, formatButaneDiagnostic } from "./diagnostics.ts";
import { encodeObject, ignitionSchema } from "./ignition-model.ts";
import { type ButaneVariant, isSemver, lookupSpec } from "./spec.ts";
import { translateBase } from "./translate-base.ts";
import { applyFcosSugar } from "./translate-fcos.ts";
import { validateButane } from "./validate-butane.ts";
import { validateIgnition } from "./validate-ignition.ts";
import { decodeObject, getString, parseButaneYaml } from "./yaml-decode.ts";

export type { ButaneDiagnostic } from "./diagnostics.ts";
export type { ButaneVariant } from "./spec.ts";
export { formatButaneDiagnostic };

export type ButaneResult =
  | { ok: true; ignitionJson: string; ignitionVersion: string; warnings: ButaneDiagnostic[] }
  | { ok: false; errors: ButaneDiagnostic[]; warnings: ButaneDiagnostic[] };

function failed(report: DiagnosticReport): ButaneResult {
  return { ok: false, errors: report.errors, warnings: report.warnings };
}

/** expectedVariant: the Secret's `format` value; a YAML whose `variant` differs is an error naming `variant`. */
export function translateButane(source: string, options?: { expectedVariant?: ButaneVariant }): ButaneResult {
  try {
    return translate(source, options);
  } catch (error) {
    // A bug must not take down the caller's hot path: report it like any other failed translation.
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, errors: [{ severity: "error", path: "", message: `internal translator error: ${message}` }], warnings: [] };
  }
}

function translate(source: string, options: { expectedVariant?: ButaneVariant } | undefined): ButaneResult {
  let locate = (_path: readonly (string | number)[]): { line: number; column: number } | undefined => undefined;
  const report = new DiagnosticReport((path) => locate(path));

  const parsed = parseButaneYaml(source, (message, position) => report.error([], `error parsing YAML: ${message}`, position));
  locate = parsed.locate;
  if (report.hasErrors) return failed(report);

  // Butane reads variant and version first to pick the translator; nothing else is looked at before that.
  const header = decodeObject(parsed.root, { variant: { kind: "string" }, version: { kind: "string" } }, [], {
    report: new DiagnosticReport(parsed.locate),
    locateKey: parsed.locateKey,
    resolveAlias: parsed.resolveAlias,
  });
  const variant = getString(header, "variant");
  const version = getString(header, "version");
  if (variant === undefined || variant === "") {
    report.error(["variant"], "error parsing variant; must be specified");
    return failed(report);
  }
  if (version === undefined || !isSemver(version)) {
    report.error(["version"], "error parsing version; must be a valid semver");
    return failed(report);
  }
  if (options?.expectedVariant !== undefined && variant !== options.expectedVariant) {
    report.error(["variant"], `variant ${JSON.stringify(variant)} does not match the secret's format ${JSON.stringify(options.expectedVariant)}`);
    return failed(report);
  }
  const spec = lookupSpec(variant, version);
  if (!spec) {
    report.error(["version"], `No translator exists for variant ${variant} with version ${version}`);
    return failed(report);
  }

  const root = decodeObject(parsed.root, butaneSchema(spec), [], { report, locateKey: parsed.locateKey, resolveAlias: parsed.resolveAlias });
  if (report.hasErrors) return failed(report);

  validateButane(root, spec, report);
  if (report.hasErrors) return failed(report);

  const schema = ignitionSchema(spec.ignitionMinor);
  const context = { spec, schema, report };
  let config = translateBase(root, context);
  if (spec.variant === "fcos") config = applyFcosSugar(root, config, context);
  if (report.hasErrors) return failed(report);

  validateIgnition(config, spec, schema, report);
  if (report.hasErrors) return failed(report);

  return {
    ok: true,
    ignitionJson: encodeObject(config, "Config", schema),
    ignitionVersion: spec.ignitionVersion,
    warnings: report.warnings,
  };
}
