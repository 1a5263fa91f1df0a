/**
 * Butane's ValidateIgnitionConfig for an inline `ignition.config.merge`/`replace`: the inline text must be an
 * Ignition config of this spec's own version (JSON that decodes into its Go types), which is then validated
 * like the generated config. A config of another Ignition version is not validated, only warned about.
 *
 * As in Butane, findings inside the embedded config carry the embedded config's own paths (snake_cased), not
 * the path of the `inline` field that holds it.
 */
import type { DiagnosticReport, PathSegment } from "./diagnostics.ts";
import { type IgnField, type IgnObject, type IgnSchema, type IgnTypeName, type IgnValue, ignitionSchema, withOrigin } from "./ignition-model.ts";
import { normalizeSemver } from "./spec.ts";
import { snake, validateEmbeddedIgnition } from "./validate-ignition.ts";

const UNKNOWN_VERSION = "skipping validation for the merge/replace ignition config due to an unkown version";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** json.Unmarshal into the Go types: the first type mismatch, or undefined when it decodes. */
function typeMismatch(value: unknown, type: IgnTypeName, schema: IgnSchema, path: string): string | undefined {
  if (value === null) return undefined;
  if (!isPlainObject(value)) return `json: cannot unmarshal ${jsonKind(value)} into Go value of type ${type} at ${path || "$"}`;
  for (const field of schema[type].fields) {
    const fieldValue = value[field.name];
    if (fieldValue === undefined) continue;
    const problem = fieldMismatch(fieldValue, field, schema, `${path}.${field.name}`);
    if (problem) return problem;
  }
  return undefined;
}

function fieldMismatch(value: unknown, field: IgnField, schema: IgnSchema, path: string): string | undefined {
  if (value === null) return undefined;
  const mismatch = (expected: string): string => `json: cannot unmarshal ${jsonKind(value)} into Go struct field ${path} of type ${expected}`;
  switch (field.kind) {
    case "string":
      return typeof value === "string" ? undefined : mismatch("string");
    case "int":
      return typeof value === "number" && Number.isInteger(value) ? undefined : mismatch("int");
    case "bool":
      return typeof value === "boolean" ? undefined : mismatch("bool");
    case "object":
      return typeMismatch(value, field.type, schema, path);
    case "list": {
      if (!Array.isArray(value)) return mismatch("slice");
      for (const [index, item] of value.entries()) {
        const itemField: IgnField = isScalarType(field.item)
          ? { name: field.name, kind: field.item }
          : { name: field.name, kind: "object", type: field.item as IgnTypeName };
        if (item === null && !isScalarType(field.item)) continue;
        const problem = fieldMismatch(item, itemField, schema, `${path}.${index}`);
        if (problem) return problem;
      }
      return undefined;
    }
  }
}

function isScalarType(item: string): item is "string" | "int" | "bool" {
  return item === "string" || item === "int" || item === "bool";
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  return typeof value === "object" ? "object" : typeof value;
}

/** The decoded JSON as IgnObjects, each remembering its (snake_cased) path for the report. */
function adopt(value: unknown, path: PathSegment[]): IgnValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.map((item, index) => adopt(item, [...path, index])).filter((item): item is IgnValue => item !== undefined);
  if (isPlainObject(value)) {
    const out = withOrigin<IgnObject>({}, path);
    for (const [key, item] of Object.entries(value)) {
      const adopted = adopt(item, [...path, snake(key)]);
      if (adopted !== undefined) out[key] = adopted;
    }
    return out;
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  return undefined;
}

/** ValidateUnusedKeys over the JSON: keys the Go types do not have. */
function reportUnusedJsonKeys(value: unknown, type: IgnTypeName, schema: IgnSchema, path: PathSegment[], report: DiagnosticReport): void {
  if (!isPlainObject(value)) return;
  const fields = schema[type].fields;
  for (const [key, item] of Object.entries(value)) {
    const field = fields.find((candidate) => candidate.name === key);
    const keyPath = [...path, snake(key)];
    if (!field) {
      report.warning(keyPath, `unused key ${key}`);
      continue;
    }
    if (field.kind === "object") {
      if (isPlainObject(item)) reportUnusedJsonKeys(item, field.type, schema, keyPath, report);
      else report.warning(keyPath, contextMismatch(keyPath));
    } else if (field.kind === "list" && Array.isArray(item) && !isScalarType(field.item)) {
      item.forEach((entry, index) => {
        if (isPlainObject(entry)) reportUnusedJsonKeys(entry, field.item as IgnTypeName, schema, [...keyPath, index], report);
      });
    }
  }
}

function contextMismatch(path: readonly PathSegment[]): string {
  return `context tree does not match content tree at $.${path.map(String).join(".")}. Line and column reporting may be inconsistent. Unused keys may not be reported`;
}

export function validateInlineConfig(
  inline: string,
  inlinePath: readonly PathSegment[],
  resourcePath: readonly PathSegment[],
  minor: number,
  report: DiagnosticReport,
): void {
  const schema = ignitionSchema(minor);
  let parsed: unknown;
  try {
    parsed = JSON.parse(inline);
  } catch (error) {
    report.error([], `invalid JSON: ${(error as Error).message}`);
    report.error(inlinePath, "config is not valid");
    return;
  }
  const mismatch = typeMismatch(parsed, "Config", schema, "");
  if (mismatch) {
    report.error([], mismatch);
    report.error(inlinePath, "config is not valid");
    return;
  }
  const ignition = isPlainObject(parsed) && isPlainObject(parsed.ignition) ? parsed.ignition : {};
  const version = typeof ignition.version === "string" ? ignition.version : "";
  const normalized = normalizeSemver(version);
  if (normalized !== undefined && normalized !== `3.${minor}.0`) {
    report.warning([...resourcePath, "version"], UNKNOWN_VERSION);
    return;
  }
  if (normalized === undefined) report.error(["ignition", "version"], "invalid config version (couldn't parse)");
  const adopted = adopt(parsed, []);
  const config = adopted !== undefined && typeof adopted === "object" && !Array.isArray(adopted) ? adopted : withOrigin<IgnObject>({}, []);
  validateEmbeddedIgnition(config, minor, schema, report);
  reportUnusedJsonKeys(parsed, "Config", schema, [], report);
}
