// The folders of src/ form a one-way stack (the role golangci's depguard plays in Go projects): a module may import
// its own folder and the layers below it, never a layer above and never a sibling, except for the few sibling
// edges listed here. A file-level cycle anywhere fails too. The test reads the import statements of the real tree,
// so moving a file to the wrong place or adding an upward import fails here before review.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

/** Bottom first. A folder is a top-level directory of src/, a top-level file counts as its own folder. */
export const LAYERS: readonly (readonly string[])[] = [
  // worker: the generic off-thread pool (no project imports), usable by boot/butane as well as by sources.
  ["api", "observability", "version", "types.d", "worker"],
  ["index"],
  ["boot"],
  ["oci", "kube"],
  ["sources", "http", "controllers"],
  ["cli"],
  ["main"],
];

/** Sibling edges that are allowed, and why. */
const SIBLING_EDGES: ReadonlyMap<string, string> = new Map([
  // Reconcilers read the informer cache of the Kubernetes source, as controller-runtime reconcilers read theirs.
  ["controllers->sources", "reconcilers read the source's cache"],
]);

export interface ImportEdge {
  from: string;
  to: string;
  specifier: string;
}

export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** Relative imports of one file (static, type-only, re-exports and dynamic import()), resolved to absolute paths. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const pattern = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)(["'])(\.{1,2}\/[^"']+)\1/gm;
  for (const match of text.matchAll(pattern)) {
    const specifier = match[2] ?? "";
    edges.push({ from: file, to: resolve(dirname(file), specifier), specifier });
  }
  return edges;
}

/** "src/sources/kube/x.ts" → "sources"; "src/main.ts" → "main"; outside src → null (package.json, samples). */
export function folderOf(path: string): string | null {
  const rel = relative(SRC, path);
  if (rel.startsWith("..")) return null;
  const [first, ...rest] = rel.split("/");
  if (first === undefined) return null;
  return rest.length === 0 ? first.replace(/\.ts$/, "") : first;
}

export function layerOf(folder: string): number {
  const layer = LAYERS.findIndex((members) => members.includes(folder));
  if (layer < 0) throw new Error(`src/${folder} is in no layer: add it to LAYERS in test/unit/layering.test.ts`);
  return layer;
}

/** Why an edge breaks the stack, or null when it is fine. */
export function layeringViolation(fromFolder: string, toFolder: string): string | null {
  if (fromFolder === toFolder) return null;
  const from = layerOf(fromFolder);
  const to = layerOf(toFolder);
  if (to < from) return null;
  if (to > from) return `points up the stack (${fromFolder} is layer ${from}, ${toFolder} is layer ${to})`;
  return SIBLING_EDGES.has(`${fromFolder}->${toFolder}`) ? null : `imports its sibling ${toFolder} (same layer ${from})`;
}

/** Every cycle's files, as a list of strongly connected components with more than one file (Tarjan). */
export function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
        onStack.delete(member);
        component.push(member);
        if (member === node) break;
      }
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

const files = sourceFiles(SRC);
const edges = files.flatMap((file) => importsOf(file, readFileSync(file, "utf8")));

describe("layering of src/", () => {
  test("every folder belongs to a layer", () => {
    const folders = new Set(files.map((file) => folderOf(file) ?? ""));
    for (const folder of folders) expect(() => layerOf(folder)).not.toThrow();
  });

  test("no import points up the stack or sideways", () => {
    const violations = edges.flatMap((edge) => {
      const fromFolder = folderOf(edge.from);
      const toFolder = folderOf(edge.to);
      if (fromFolder === null || toFolder === null) return [];
      const why = layeringViolation(fromFolder, toFolder);
      return why ? [`${relative(SRC, edge.from)} imports "${edge.specifier}": ${why}`] : [];
    });
    expect(violations).toEqual([]);
  });

  test("no import cycle between files", () => {
    const graph = new Map<string, string[]>(files.map((file) => [file, []]));
    for (const edge of edges) if (graph.has(edge.to)) graph.get(edge.from)?.push(edge.to);
    const cycles = cyclesOf(graph).map((component) => component.map((file) => relative(SRC, file)).join(" <-> "));
    expect(cycles).toEqual([]);
  });
});

describe("the checks themselves", () => {
  test("an upward import, a sibling import and a cycle are each caught", () => {
    expect(layeringViolation("index", "boot")).toContain("points up the stack");
    expect(layeringViolation("sources", "controllers")).toContain("sibling");
    expect(layeringViolation("http", "sources")).toContain("sibling");
    expect(layeringViolation("controllers", "sources")).toBeNull();
    expect(layeringViolation("cli", "api")).toBeNull();
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    expect(cyclesOf(graph)).toEqual([["a", "b", "c"]]);
  });

  test("import forms are all read", () => {
    const text = [
      'import { a } from "./a.ts";',
      'import type { B } from "../b/b.ts";',
      'export { c } from "./c.ts";',
      'const d = await import("./d.ts");',
      'import "./side-effect.ts";',
    ].join("\n");
    expect(importsOf("/x/y/file.ts", text).map((edge) => edge.specifier)).toEqual(["./a.ts", "../b/b.ts", "./c.ts", "./d.ts", "./side-effect.ts"]);
  });
});
