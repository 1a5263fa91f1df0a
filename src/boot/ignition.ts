// Turns the Secret a config references into the Ignition JSON a machine receives. Butane is translated once per
// secret content and remembered, so a boot storm never re-translates an unchanged secret.
import { SECRET_KEY_FORMAT, SECRET_KEY_IGNITION } from "../api/index.ts";
import type { BootIndex, SecretEntry } from "../index/boot-index.ts";
import { formatButaneDiagnostic, translateButane } from "./butane/index.ts";
import { type Servable, unservable } from "./verdict.ts";

/** A secret's format: Ignition JSON as-is, or Butane (`fcos`, as in the Go operator; `flatcar` is accepted too). */
export type IgnitionFormat = "ignition" | "fcos" | "flatcar";

export interface IgnitionDocument {
  json: string;
  format: IgnitionFormat;
  /** Butane warnings: the document is served, `validate` and the status mention them. */
  warnings: string[];
}

export type IgnitionOutcome = Servable<IgnitionDocument>;

/**
 * The secret's `format` key: `fcos`/`flatcar` mean "Butane" (the document's own `variant` decides how it is
 * translated), anything else (or none) is Ignition JSON as-is.
 */
export function ignitionFormatOf(entry: SecretEntry): IgnitionFormat {
  const format = entry.values.get(SECRET_KEY_FORMAT)?.trim().toLowerCase();
  return format === "fcos" || format === "flatcar" ? format : "ignition";
}

export function translateIgnitionSource(source: string, format: IgnitionFormat, secretKey: string): IgnitionOutcome {
  if (format === "ignition") {
    try {
      const parsed: unknown = JSON.parse(source);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        return unservable(500, "IgnitionInvalid", `ignition in secret ${secretKey} is not a JSON object`);
      }
      return { ok: true, json: source, format, warnings: [] };
    } catch (error) {
      return unservable(500, "IgnitionInvalid", `ignition in secret ${secretKey} is not valid JSON: ${(error as Error).message}`);
    }
  }
  const result = translateButane(source);
  if (!result.ok) {
    const first = result.errors[0];
    const more = result.errors.length > 1 ? ` (+${result.errors.length - 1} more)` : "";
    const detail = first ? formatButaneDiagnostic(first) : "unknown error";
    return unservable(500, "ButaneTranslationFailed", `butane in secret ${secretKey} does not translate: ${detail}${more}`);
  }
  return { ok: true, json: result.ignitionJson, format, warnings: result.warnings.map(formatButaneDiagnostic) };
}

interface CachedTranslation {
  source: string;
  format: IgnitionFormat;
  outcome: IgnitionOutcome;
}

export class IgnitionCache {
  private readonly entries = new Map<string, CachedTranslation>();
  /** Told once per secret version whose Butane translated with warnings (the server logs them). */
  onWarnings: ((secretKey: string, warnings: readonly string[]) => void) | undefined;

  /** Outcome for one secret; translated only when its content or format changed since the last call. */
  outcomeFor(entry: SecretEntry): IgnitionOutcome {
    const source = entry.values.get(SECRET_KEY_IGNITION);
    if (source === undefined) {
      return unservable(404, "SecretKeyMissing", `secret ${entry.key} has no key "${SECRET_KEY_IGNITION}"`);
    }
    const format = ignitionFormatOf(entry);
    const cached = this.entries.get(entry.key);
    if (cached && cached.format === format && cached.source === source) return cached.outcome;
    const outcome = translateIgnitionSource(source, format, entry.key);
    this.entries.set(entry.key, { source, format, outcome });
    // Only here, where a new secret version is translated: a boot storm does not repeat the warnings.
    if (outcome.ok && outcome.warnings.length > 0) this.onWarnings?.(entry.key, outcome.warnings);
    return outcome;
  }

  /** Forget secrets that no longer exist, so the cache is bounded by the live resource set. */
  prune(index: BootIndex): void {
    for (const key of this.entries.keys()) if (!index.secrets.has(key)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
