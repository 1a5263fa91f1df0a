// A LIST answer split into its items as the bytes arrive (src/kube/list-items.ts): every way a chunk can cut the
// JSON (inside strings, escapes, multi-byte characters, between items), strings full of brackets and quotes, the
// envelope on both sides of the items, and answers that end early.
import { describe, expect, test } from "bun:test";
import { ListItemSplitter } from "../../src/kube/list-items.ts";

const encoder = new TextEncoder();

/** Feeds `text` in chunks of `size` bytes; the items parsed and the envelope. */
function split(text: string, size: number): { items: unknown[]; envelope: unknown } {
  const bytes = encoder.encode(text);
  const splitter = new ListItemSplitter();
  const items: unknown[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    // A fresh buffer reused for every chunk: kept parts must be copies.
    const chunk = new Uint8Array(bytes.subarray(at, at + size));
    splitter.push(chunk, (item) => items.push(JSON.parse(item)));
    chunk.fill(0x20);
  }
  return { items, envelope: splitter.end() };
}

const awkward = [
  { metadata: { name: "a", resourceVersion: "1" }, spec: { script: '#!ipxe\necho "{[}]" \\ \\\\" done', items: [{ x: 1 }] } },
  { metadata: { name: "b" }, spec: { text: "€ü😀".repeat(20), quote: '\\"', tail: "\\" } },
  { metadata: { name: "c" }, list: [[], {}, [{}]], n: -1.5e3, t: true, f: false, z: null },
  { items: { items: ["items"] }, 'k"ey': "]" },
];
const list = { kind: "ThingList", apiVersion: "v1", metadata: { resourceVersion: "42", continue: "abc" }, items: awkward };

describe("ListItemSplitter", () => {
  test("the items and envelope come out the same for every chunk size, from one byte to the whole answer", () => {
    const text = JSON.stringify(list);
    for (const size of [1, 2, 3, 5, 7, 13, 64, 1000, text.length]) {
      const { items, envelope } = split(text, size);
      expect(items).toEqual(awkward);
      expect(envelope).toEqual({ ...list, items: [] });
    }
  });

  test("whitespace, the envelope after the items, and other top-level arrays that are not items", () => {
    const text = `{ "kind" : "List", "other" : [ {"no": 1} ] , "items" : [ {"a": 1} ,\n {"b": [2]} ] , "metadata" : {"resourceVersion":"7"} }`;
    for (const size of [1, 4, text.length]) {
      const { items, envelope } = split(text, size);
      expect(items).toEqual([{ a: 1 }, { b: [2] }]);
      expect(envelope).toEqual({ kind: "List", other: [{ no: 1 }], items: [], metadata: { resourceVersion: "7" } });
    }
  });

  test("an empty list, and one without items", () => {
    expect(split('{"metadata":{"resourceVersion":"1"},"items":[]}', 3)).toEqual({ items: [], envelope: { metadata: { resourceVersion: "1" }, items: [] } });
    expect(split('{"metadata":{"resourceVersion":"1"}}', 3)).toEqual({ items: [], envelope: { metadata: { resourceVersion: "1" } } });
  });

  test("an answer that ends inside an item, a string or the envelope fails at the end; an item that is not an object fails at once", () => {
    for (const cut of ['{"items":[{"a":1}', '{"items":[{"a":"x', '{"items":[],"metadata":{']) {
      const splitter = new ListItemSplitter();
      splitter.push(encoder.encode(cut), () => {});
      expect(() => splitter.end()).toThrow("ended early");
    }
    expect(() => new ListItemSplitter().end()).toThrow("list answer is empty");
    expect(() => new ListItemSplitter().push(encoder.encode('{"items":[[1]]}'), () => {})).toThrow("not an object");
    expect(() => new ListItemSplitter().push(encoder.encode('{"a":1}}'), () => {})).toThrow("unbalanced");
  });
});
