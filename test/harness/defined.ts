// Checked stand-in for `value!` in tests: a missing value fails the test right here, saying what was missing,
// instead of a TypeError somewhere further down (or, worse, `undefined` flowing into an assertion).
export function defined<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}, got ${value}`);
  return value;
}
