// Who owns which status fields, read from an object's managedFields before the reflector drops them (they are half
// of each object's JSON, so the cache never keeps them). The status reconciler uses this to tell another writer
// rewriting its fields (the Go operator still running, say) from its own writes coming back. Pure and cheap: only
// entries that own something under status are looked at, and only status's first level (plus condition types).

/** One manager's share of `status`, e.g. { manager: "manager", operation: "Update", fields: ["state"] }. */
export interface StatusFieldOwner {
  manager: string;
  /** "Apply" (server-side apply) or "Update" (update / merge patch). */
  operation: string;
  /**
   * Status fields it owns: "state"; "conditions[Ready]" for one entry of a list keyed by type; "conditions" for the
   * whole list when the CRD makes it atomic (the Go project's CRD does).
   */
  fields: string[];
}

type FieldSet = Record<string, unknown>;

function isFieldSet(value: unknown): value is FieldSet {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `k:{"type":"Ready"}` → Ready; anything else (value or index keys) → undefined. */
function listKeyType(key: string): string | undefined {
  if (!key.startsWith("k:")) return undefined;
  try {
    const parsed: unknown = JSON.parse(key.slice(2));
    return isFieldSet(parsed) && typeof parsed.type === "string" ? parsed.type : undefined;
  } catch {
    return undefined;
  }
}

function statusFields(status: FieldSet): string[] {
  const fields: string[] = [];
  for (const [key, children] of Object.entries(status)) {
    if (!key.startsWith("f:")) continue; // "." is the status map itself
    const name = key.slice(2);
    const entries = isFieldSet(children) ? Object.keys(children).filter((child) => child !== ".") : [];
    const types = entries.map(listKeyType).filter((type): type is string => type !== undefined);
    if (types.length > 0) for (const type of types) fields.push(`${name}[${type}]`);
    else fields.push(name);
  }
  return fields;
}

/** Every manager owning something under `status`, from the raw `metadata.managedFields`. */
export function statusFieldOwners(managedFields: unknown): StatusFieldOwner[] {
  if (!Array.isArray(managedFields)) return [];
  const owners: StatusFieldOwner[] = [];
  for (const entry of managedFields) {
    if (!isFieldSet(entry) || typeof entry.manager !== "string") continue;
    const status = isFieldSet(entry.fieldsV1) ? entry.fieldsV1["f:status"] : undefined;
    if (!isFieldSet(status)) continue;
    const fields = statusFields(status);
    if (fields.length > 0) owners.push({ manager: entry.manager, operation: typeof entry.operation === "string" ? entry.operation : "", fields });
  }
  return owners;
}
