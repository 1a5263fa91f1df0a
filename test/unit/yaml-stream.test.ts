import { describe, expect, test } from "bun:test";
import { parseAllDocuments } from "yaml";
import { DEFAULT_YAML_LIMITS, decodeYamlStream, type YamlStream } from "../../src/sources/files/yaml-stream.ts";

function values(text: string, limits = DEFAULT_YAML_LIMITS): unknown[] {
  const stream = decodeYamlStream(text, limits);
  if (!stream.ok) throw new Error(`unexpected failure: ${JSON.stringify(stream.failure)}`);
  return stream.documents;
}

function failure(text: string, limits = DEFAULT_YAML_LIMITS): Extract<YamlStream, { ok: false }>["failure"] {
  const stream = decodeYamlStream(text, limits);
  if (stream.ok) throw new Error("expected a failure");
  return stream.failure;
}

function manyKeys(count: number): string {
  let text = "";
  for (let i = 0; i < count; i++) text += `key${i}: v\n`;
  return Buffer.from(text).toString("utf8"); // flat, like text read from a file
}

describe("decodeYamlStream gives the values the yaml package gives", () => {
  const samples = [
    "a: 1\nb: [1, 2.5, true, null, ~, 'q', \"d\"]\nc: {x: y}\n",
    "---\n---\nx: &anchor {k: v}\ny: *anchor\nlist:\n  - *anchor\n  - plain\n",
    '{"json": {"nested": [1, {"deep": "er"}]}, "n": null}',
    "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\nnumbers: [0x1f, 0o17, 1e3, .inf]\n",
    "# only a comment\n",
    "",
  ];
  for (const sample of samples) {
    test(JSON.stringify(sample.slice(0, 40)), () => {
      expect(values(sample)).toEqual(parseAllDocuments(sample).map((document) => document.toJS()));
    });
  }
});

describe("duplicate keys", () => {
  test("are an error naming the key and its line", () => {
    expect(failure("a: 1\nb: 2\na: 3\n")).toMatchObject({ document: 0, line: 3, column: 1, message: 'duplicate key "a"', limit: false });
  });
  test("also when they only collide as text (1 and '1'), and in later documents", () => {
    expect(failure("x: 1\n---\n1: a\n'1': b\n")).toMatchObject({ document: 1, message: 'duplicate key "1"' });
  });
  test("cost linear time: 8× the keys take far less than 64× the time", () => {
    values(manyKeys(4_000)); // warm up the JIT
    const time = (count: number): number => {
      const text = manyKeys(count);
      const started = performance.now();
      expect((values(text)[0] as Record<string, string>)[`key${count - 1}`]).toBe("v");
      return performance.now() - started;
    };
    const small = Math.min(time(8_000), time(8_000));
    const large = time(64_000);
    // Quadratic (the yaml package's uniqueKeys) would be ~64×; linear is ~8×. Leave room for a busy machine.
    expect(large / small).toBeLessThan(24);
  }, 60_000);
});

describe("nesting depth", () => {
  const flow = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}\n`;
  test("up to the limit is fine, one more is refused", () => {
    expect(decodeYamlStream(flow(100)).ok).toBe(true);
    expect(failure(flow(101))).toMatchObject({ limit: true, message: "nested deeper than 100 levels" });
    expect(decodeYamlStream(flow(11), { ...DEFAULT_YAML_LIMITS, maxDepth: 10 }).ok).toBe(false);
  });
  test("100 000 levels are refused at once, in every style", () => {
    for (const text of [flow(100_000), `${"- ".repeat(100_000)}x\n`, `${"{a: ".repeat(100_000)}1${"}".repeat(100_000)}\n`, deepBlockMaps(5_000)]) {
      const started = performance.now();
      expect(failure(text).message).toBe("nested deeper than 100 levels");
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });
});

function deepBlockMaps(depth: number): string {
  const lines: string[] = [];
  for (let i = 0; i < depth; i++) lines.push(`${" ".repeat(i)}k:`);
  return `${lines.join("\n")} x\n`;
}

describe("aliases", () => {
  const bomb = [
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
    ...["b", "c", "d", "e", "f", "g", "h", "i"].map((name, level) => `${name}: &${name} [${Array(9).fill(`*${"abcdefgh"[level]}`).join(", ")}]`),
  ].join("\n");

  test("a billion laughs is refused at once", () => {
    const started = performance.now();
    expect(failure(bomb)).toMatchObject({ limit: true, message: "aliases expand to more than 1000000 nodes (an alias bomb?)" });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
  test("ordinary anchor use is not limited by the number of aliases", () => {
    const items = Array.from({ length: 5_000 }, (_, i) => (i === 0 ? "- &spec {kernel: k, initrd: i, args: [a, b, c]}" : "- *spec"));
    const [list] = values(`${items.join("\n")}\n`) as [unknown[]];
    expect(list).toHaveLength(5_000);
    expect(list[4_999]).toEqual({ kernel: "k", initrd: "i", args: ["a", "b", "c"] });
  });
  test("the budget counts every node an alias adds, nested aliases included", () => {
    const text = "a: &a [1, 2, 3]\nb: &b [*a, *a]\nc: [*b]\n"; // *a adds 3 twice (in b), *b adds 8 (in c)
    expect(decodeYamlStream(text, { ...DEFAULT_YAML_LIMITS, maxAliasNodes: 14 }).ok).toBe(true);
    expect(decodeYamlStream(text, { ...DEFAULT_YAML_LIMITS, maxAliasNodes: 13 }).ok).toBe(false);
  });
  test("an alias without anchor, or inside its own anchor, is an error", () => {
    expect(failure("a: *missing\n").message).toBe("alias *missing has no anchor &missing before it");
    expect(failure("a: &self [*self]\n").message).toBe("alias *self refers to a node that contains it");
  });
  test("an alias names the latest anchor of that name before it", () => {
    expect(values("a: &x 1\nb: *x\nc: &x 2\nd: *x\n")).toEqual([{ a: 1, b: 1, c: 2, d: 2 }]);
  });
});

describe("merge keys and odd keys", () => {
  test("<< merges mappings; the mapping's own keys win, then the first merged mapping", () => {
    const text = "base: &base {a: 1, b: 1}\nmore: &more {b: 2, c: 2}\nx:\n  b: own\n  <<: [*base, *more]\n";
    expect((values(text)[0] as Record<string, unknown>).x).toEqual({ b: "own", a: 1, c: 2 });
  });
  test("<< with something other than mappings is an error", () => {
    expect(failure("x:\n  <<: 5\n").message).toBe("a << merge key needs a mapping or a list of mappings");
  });
  test("__proto__ stays an ordinary key", () => {
    const [value] = values("__proto__: {polluted: true}\n") as [Record<string, unknown>];
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  test("collections as keys are refused", () => {
    expect(failure("? [a, b]\n: c\n").message).toBe("mapping keys must be strings, numbers or booleans");
  });
});
