// Values that repeat across a fleet's objects (the namespace, the same kernel, initrd and UKI URLs, a Secret's type
// and format) arrive as a fresh string per object, from YAML and JSON alike, and every config keeps its own copy
// for as long as it is served. One instance per value instead. Bounded: past MAX_SHARED distinct values the table
// starts over (a fleet with that many distinct URLs gains little from it), and only short values are kept.
const MAX_SHARED = 4096;
const MAX_LENGTH = 512;
let shared = new Map<string, string>();

export function sharedValue(value: string): string {
  if (value.length > MAX_LENGTH) return value;
  const known = shared.get(value);
  if (known !== undefined) return known;
  if (shared.size >= MAX_SHARED) shared = new Map();
  shared.set(value, value);
  return value;
}
