// The plain-subset fast path (plain-yaml.ts) must give exactly what the full decoder gives, or nothing.
import { heapStats } from "bun:jsc";
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { decodePlainResourceFile, decodeResourceFile } from "../../src/sources/files/documents.ts";
import { decodePlainYaml } from "../../src/sources/files/plain-yaml.ts";
import { DEFAULT_YAML_LIMITS, decodeYamlStream } from "../../src/sources/files/yaml-stream.ts";

function full(text: string): unknown[] {
  const stream = decodeYamlStream(text, DEFAULT_YAML_LIMITS);
  if (!stream.ok) throw new Error(`full decoder failed: ${stream.failure.message}`);
  return stream.documents;
}

/** Texts the fast path takes; each must equal the full decoder's values. */
const PLAIN = [
  "a: 1\n",
  "a: 1\nb: two\nc: 'three'\nd: \"four\"\n",
  "n: ~\nm: null\nk: Null\nt: true\nf: FALSE\ni: -42\nj: +7\nz: 007\nempty:\n",
  "ip: 10.64.0.1\nurl: http://mirror.example/a:b?x=1#frag\nmac: '02:b0:07:00:00:00'\nword: yes\non: off\n",
  "trailing: value # a comment\nhash: a#b\nq: 'it''s' # c\nspaced:   many   words  \n",
  "# leading comment\nmetadata:\n  name: x   # why\n  labels:\n    app.kubernetes.io/name: boot\n\n  namespace: ns\n",
  "list:\n  - a\n  - 1\n  - true\nsame:\n- x\n- y\nafter: 1\n",
  "items:\n  - name: a\n    value: 1\n  - name: b\n    nested:\n      deep: yes\n  -\n    name: c\n",
  "a: 1\n---\nb: 2\n",
  "---\na: 1\n",
  "# c\n---\na: 1\n---\n---\nb: 2\n",
  "a: 1\n---\n",
  "a: 1\n--- # comment\nb: 2\n",
  "text: |\n  line one\n\n  line two\n    indented\n  # not a comment\nnext: 1\n",
  "strip: |-\n  one\n  two\n\nclip: |\n  x\n\n\nempty: |\nafter: 2\n",
  "spec:\n  ignition: |\n    variant: fcos\n    storage:\n      files:\n        - mode: 0644\n  other: v\n",
  "- a\n- b\n",
  "dash: -x\nneg: -1.0x\nsnake_key: v\nslash/key: v\n",
];

/** Texts the fast path must leave to the full decoder. */
const NOT_PLAIN = [
  "a: 1\na: 2\n", // duplicate key: the full decoder reports it
  "a: {b: c}\n",
  "a: [1, 2]\n",
  "a: &x 1\nb: *x\n",
  "a: !!str 1\n",
  "a: >\n  folded\n",
  "a: |+\n  keep\n",
  "a: |2\n   x\n",
  "a: 0x1f\n",
  "a: 0o17\n",
  "a: 1.5\n",
  "a: 1e3\n",
  "a: .inf\n",
  'a: "esc\\n"\n',
  "a: 'multi\n  line'\n",
  "a: plain\n  continued\n",
  "a:\tb\n",
  "a: 1\r\nb: 2\r\n",
  "a: 1", // no final newline
  "",
  "# only a comment\n",
  "plain scalar\n",
  "1: one\n",
  "true: yes\n",
  "<<: {a: 1}\n",
  "__proto__: x\n",
  "a: b: c\n",
  "%YAML 1.2\n---\na: 1\n",
  "--- text\n",
  "a: 1\n...\n",
  "- - nested\n",
  "a:\n   b: 1\n  c: 2\n",
  "a: |\n\n  leading blank\n",
  "a: 'x' y\n",
  "a: # comment only\n  b: 1\n",
  `${"a:\n".replace("a", "k")}${Array.from({ length: 200 }, (_, i) => `${" ".repeat(i + 1)}k:\n`).join("")}`,
];

describe("decodePlainYaml", () => {
  test.each(PLAIN.map((text) => [JSON.stringify(text), text]))("takes %s, as the full decoder reads it", (_, text) => {
    const plain = decodePlainYaml(text, DEFAULT_YAML_LIMITS.maxDepth);
    expect(plain).toBeDefined();
    expect(plain).toEqual(full(text));
  });

  test.each(NOT_PLAIN.map((text) => [JSON.stringify(text).slice(0, 60), text]))("leaves %s to the full decoder", (_, text) => {
    expect(decodePlainYaml(text, DEFAULT_YAML_LIMITS.maxDepth)).toBeUndefined();
  });

  test("nesting deeper than the limit is left to the full decoder (which refuses it)", () => {
    const nested = (levels: number): string => `${Array.from({ length: levels }, (_, i) => `${" ".repeat(i)}k:`).join("\n")}\n`;
    expect(decodePlainYaml(nested(5), 10)).toBeDefined();
    expect(decodePlainYaml(nested(20), 10)).toBeUndefined();
  });

  test("the repository's own YAML: whatever the fast path takes, it reads as the full decoder does", () => {
    const files = [...new Bun.Glob("{manifests,chart,config,examples,test}/**/*.{yaml,yml}").scanSync({ cwd: `${import.meta.dir}/../..` })];
    expect(files.length).toBeGreaterThan(10);
    let taken = 0;
    for (const file of files) {
      const text = readFileSync(`${import.meta.dir}/../../${file}`, "utf8");
      const plain = decodePlainYaml(text, DEFAULT_YAML_LIMITS.maxDepth);
      if (plain === undefined) continue;
      taken++;
      const stream = decodeYamlStream(text, DEFAULT_YAML_LIMITS);
      expect(stream.ok ? stream.documents : "full decoder failed").toEqual(plain);
    }
    expect(taken).toBeGreaterThan(5);
  });
});

describe("decodePlainResourceFile", () => {
  const machine = `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata:
  name: machine-1
  namespace: bench
spec:
  systemUUID: 96a0f96b-b442-4bbb-bb60-ded300000000
  systemIPs:
    - 10.64.0.1
  kernelURL: /uki/vmlinuz
  initrdURL: /uki/initrd.img
  ignitionSecretRef:
    name: machine-1-ignition
---
apiVersion: v1
kind: Secret
metadata:
  name: machine-1-ignition
  namespace: bench
stringData:
  format: fcos
  ignition: |
    variant: fcos
    version: 1.5.0
`;

  test("a machine's file decodes as decodeResourceFile decodes it", () => {
    const plain = decodePlainResourceFile("m.yaml", machine);
    expect(plain?.ok).toBe(true);
    expect(plain).toEqual(decodeResourceFile("m.yaml", machine));
  });

  test("a file with a problem goes to the full decoder, which gives the problem its line", () => {
    const broken = machine.replace("  kernelURL: /uki/vmlinuz\n", "  kernelURL: 7\n");
    expect(decodePlainYaml(broken, DEFAULT_YAML_LIMITS.maxDepth)).toBeDefined();
    expect(decodePlainResourceFile("m.yaml", broken)).toBeUndefined();
  });
});

describe("memory", () => {
  test("kept values do not hold the file's text (a slice of a string keeps all of it alive)", () => {
    const padding = `# ${"x".repeat(1024 * 1024)}\n`;
    const kept: unknown[][] = [];
    Bun.gc(true);
    const before = heapStats().extraMemorySize;
    for (let file = 0; file < 40; file++) {
      const documents = decodePlainYaml(`${padding}name: machine-${file}\nscript: |\n  echo ${file}\n`, DEFAULT_YAML_LIMITS.maxDepth);
      if (!documents) throw new Error("not plain");
      kept.push(documents);
    }
    Bun.gc(true);
    const grownMiB = (heapStats().extraMemorySize - before) / 2 ** 20;
    expect(kept[39]).toEqual([{ name: "machine-39", script: "echo 39\n" }]);
    // 40 files of 1 MiB each: ~40 MiB when the values are views into the texts, ~0 when they are copies.
    expect(grownMiB).toBeLessThan(8);
  });
});
