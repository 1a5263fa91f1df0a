// The Butane YAML decoder is linear in its input (issue #16 §2): duplicate keys in a big mapping are found without
// comparing every pair, and nesting beyond MAX_BUTANE_DEPTH is refused before a tree is built. Error text and
// position stay what `uniqueKeys: true` gave (the differential test against the real Butane checks the rest).
import { describe, expect, test } from "bun:test";
import { formatButaneDiagnostic, translateButane } from "../../../src/boot/butane/index.ts";
import { MAX_ALIAS_EXPANSION, MAX_BUTANE_DEPTH } from "../../../src/boot/butane/yaml-decode.ts";

function errorsOf(source: string): string[] {
  const result = translateButane(source);
  return result.ok ? [] : result.errors.map(formatButaneDiagnostic);
}

describe("Butane YAML limits", () => {
  test("a duplicate key is reported at the repeated key, also deep in a big mapping, in linear time", () => {
    const small = errorsOf("variant: fcos\nversion: 1.5.0\nvariant: fcos\n");
    expect(small).toHaveLength(1);
    expect(small[0]).toContain("Map keys must be unique");
    expect(small[0]).toBe("$ (line 3, column 1): error parsing YAML: Map keys must be unique");
    const keys = Array.from({ length: 40_000 }, (_, i) => `  k${i}: 1`);
    keys.push("  k17: 2");
    const started = performance.now();
    const errors = errorsOf(`variant: fcos\nversion: 1.5.0\nignition:\n${keys.join("\n")}\n`);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("Map keys must be unique");
    expect(errors[0]).toContain("(line 40004, column 3)");
  });

  test("nesting deeper than the cap is one error, found before any tree is built", () => {
    const depth = 200_000;
    const errors = errorsOf(`variant: fcos\nversion: 1.5.0\nx: ${"[".repeat(depth)}${"]".repeat(depth)}\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`nested deeper than ${MAX_BUTANE_DEPTH} levels`);
    expect(errors[0]).toContain("line 3");
  });

  test("nesting within the cap is fine", () => {
    const errors = errorsOf(`variant: fcos\nversion: 1.5.0\nignition: {config: {merge: [{source: "data:,", verification: {}}]}}\n`);
    expect(errors).toEqual([]);
  });

  test(`aliases that would copy out more than ${MAX_ALIAS_EXPANSION} nodes are one error, not hours of decoding`, () => {
    // 24 KB: 3000 files, each an alias to an object whose list holds 3000 aliases (9 million objects if copied).
    const many = (ref: string, count: number): string => `[${Array(count).fill(ref).join(", ")}]`;
    const source = `variant: fcos\nversion: 1.5.0\nx:\n  a: &a {inline: x}\n  b: &b {path: /etc/x, append: ${many("*a", 3000)}}\nstorage:\n  files: ${many("*b", 3000)}\n`;
    const started = performance.now();
    const errors = errorsOf(source);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("error parsing YAML: document contains excessive aliasing");
  });

  test("a moderate use of aliases still decodes", () => {
    const source =
      "variant: fcos\nversion: 1.5.0\nx: &motd {inline: hi}\nstorage:\n  files:\n    - {path: /etc/a, contents: *motd}\n    - {path: /etc/b, contents: *motd}\n";
    const result = translateButane(source);
    expect(result.ok).toBe(true);
  });
});
