// YAML (and JSON, a subset of it) to plain values in time linear in the input, with limits on what a hostile or
// broken file can cost. The `yaml` package's own duplicate-key check compares each key with every earlier one
// (32 000 keys took 35–52 s) and its alias resolution rescans the document per alias, so both are done here
// instead, in one pass over its syntax tree:
// - nesting deeper than `maxDepth` is refused while the text is still being tokenised, before any tree is built;
// - a duplicate key is an error (as with `uniqueKeys: true`), found with one Set per mapping;
// - aliases are resolved in document order and share their anchor's value; what they would add if copied out
//   (as the schema validation and everything after it does) is counted against `maxAliasNodes`, so an alias bomb
//   is refused at once while any amount of ordinary anchor use (a List whose items share a spec) works;
// - `<<` merge keys work as kubectl's YAML reader treats them (explicit keys win).
import { Composer, type Document, isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, Scalar, type Node as YamlNode } from "yaml";

export interface YamlLimits {
  /** Deepest nesting of mappings/sequences. */
  maxDepth: number;
  /** Most nodes that aliases may add to a file when expanded. */
  maxAliasNodes: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = { maxDepth: 100, maxAliasNodes: 1_000_000 };

interface YamlFailure {
  /** 0-based index of the document the failure is in. */
  document: number;
  line: number;
  column: number;
  message: string;
  /** A limit was hit (depth, aliases), as opposed to a syntax error. */
  limit: boolean;
}

/**
 * One value per document, `null` for empty ones, so indexes match the `---` separated documents of the file.
 * `lineOf` finds where a value came from, for error messages: the 1-based line of the node at `path` (keys and
 * sequence indexes) in that document, or of the deepest part of the path that exists.
 */
export type YamlStream =
  | { ok: true; documents: unknown[]; lineOf: (document: number, path: readonly string[]) => number | undefined }
  | { ok: false; failure: YamlFailure };

class DecodeError extends Error {
  constructor(
    readonly offset: number,
    message: string,
    readonly limit = false,
  ) {
    super(message);
  }
}

/** The CST parser keeps the document and the scalar being read on its stack besides one entry per collection. */
const PARSER_STACK_OVERHEAD = 2;

export function decodeYamlStream(text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): YamlStream {
  const lineCounter = new LineCounter();
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const composer = new Composer({ uniqueKeys: false, prettyErrors: false });
  const budget = { aliasNodes: limits.maxAliasNodes };
  const documents: unknown[] = [];
  const trees: Document.Parsed[] = [];
  const fail = (offset: number, message: string, limit = false): YamlStream => {
    const position = lineCounter.linePos(offset);
    return { ok: false, failure: { document: documents.length, line: position.line, column: position.col, message, limit } };
  };
  function* tokens() {
    for (const lexeme of new Lexer().lex(text)) {
      yield* parser.next(lexeme);
      if (parser.stack.length > limits.maxDepth + PARSER_STACK_OVERHEAD) {
        throw new DecodeError(parser.offset, `nested deeper than ${limits.maxDepth} levels`, true);
      }
    }
    yield* parser.end();
  }
  try {
    for (const document of composer.compose(tokens())) {
      const error = document.errors[0];
      if (error) return fail(error.pos[0], error.message.split("\n")[0] ?? error.message);
      documents.push(new Converter(document, limits, budget).run());
      trees.push(document);
    }
  } catch (error) {
    if (error instanceof DecodeError) return fail(error.offset, error.message, error.limit);
    throw error;
  }
  const lineOf = (document: number, path: readonly string[]): number | undefined => {
    const tree = trees[document];
    const node = tree?.contents ? nodeAt(tree, tree.contents as YamlNode, path) : undefined;
    return node ? lineCounter.linePos(offsetOf(node)).line : undefined;
  };
  return { ok: true, documents, lineOf };
}

/**
 * The node at `path` below `node`, following aliases. Where the path leaves the tree (a required field that is
 * missing), the key of the last mapping on it: `spec:` for a missing spec.kernelURL.
 */
function nodeAt(tree: Document.Parsed, node: YamlNode, path: readonly string[]): YamlNode {
  let current = node;
  let currentKey: YamlNode | undefined;
  for (const segment of path) {
    const resolved = isAlias(current) ? (current.resolve(tree) as YamlNode | undefined) : current;
    if (!resolved) return current;
    let next: YamlNode | undefined;
    let nextKey: YamlNode | undefined;
    if (isMap(resolved)) {
      const pair = resolved.items.find((item) => isScalar(item.key) && mapKey(item.key.value) === segment);
      nextKey = (pair?.key as YamlNode | undefined) ?? undefined;
      // A key without a value (`kernelURL:`) is located at its key.
      next = pair ? ((pair.value as YamlNode | null) ?? nextKey) : undefined;
    } else if (isSeq(resolved) && /^\d+$/.test(segment)) {
      next = (resolved.items[Number(segment)] as YamlNode | null) ?? undefined;
    }
    if (!next) return currentKey ?? resolved;
    current = next;
    currentKey = nextKey;
  }
  return current;
}

interface Converted {
  value: unknown;
  /** Nodes in the value if every alias in it were copied out. */
  size: number;
}

const IN_PROGRESS = Symbol("in progress");

/** Syntax tree of one document → plain values; aliases share the value of their anchor. */
class Converter {
  /** The latest node carrying each anchor, in document order (YAML: an alias names the last anchor before it). */
  private readonly anchors = new Map<string, YamlNode>();
  private readonly anchored = new Map<YamlNode, Converted | typeof IN_PROGRESS>();

  constructor(
    private readonly document: Document.Parsed,
    private readonly limits: YamlLimits,
    private readonly budget: { aliasNodes: number },
  ) {}

  run(): unknown {
    const contents = this.document.contents;
    return contents ? this.convert(contents, 1).value : null;
  }

  /** `depth`: how many collections `node` is inside, itself included if it is one. */
  private convert(node: YamlNode, depth: number): Converted {
    if (isAlias(node)) return this.resolveAlias(node.source, offsetOf(node));
    const anchor = node.anchor;
    if (anchor) {
      this.anchors.set(anchor, node);
      this.anchored.set(node, IN_PROGRESS);
    }
    const converted = this.convertValue(node, depth);
    if (anchor) this.anchored.set(node, converted);
    return converted;
  }

  private convertValue(node: YamlNode, depth: number): Converted {
    if (isScalar(node)) return { value: node.value, size: 1 };
    if (depth > this.limits.maxDepth) throw new DecodeError(offsetOf(node), `nested deeper than ${this.limits.maxDepth} levels`, true);
    if (isSeq(node)) {
      const items: unknown[] = [];
      let size = 1;
      for (const item of node.items) {
        const converted = item ? this.convert(item as YamlNode, depth + 1) : { value: null, size: 1 };
        items.push(converted.value);
        size += converted.size;
      }
      return { value: items, size };
    }
    if (isMap(node)) return this.convertMap(node.items, depth);
    throw new DecodeError(offsetOf(node), "unsupported YAML node");
  }

  private convertMap(pairs: readonly { key: unknown; value: unknown }[], depth: number): Converted {
    const object: Record<string, unknown> = {};
    const explicitKeys = new Set<string>();
    const merges: { value: unknown; offset: number }[] = [];
    let size = 1;
    for (const pair of pairs) {
      const keyNode = pair.key as YamlNode | null;
      const valueNode = pair.value as YamlNode | null;
      if (keyNode && isScalar(keyNode) && keyNode.type === Scalar.PLAIN && keyNode.value === "<<" && !keyNode.anchor) {
        const merged = valueNode ? this.convert(valueNode, depth + 1) : { value: null, size: 1 };
        merges.push({ value: merged.value, offset: valueNode ? offsetOf(valueNode) : offsetOf(keyNode) });
        size += 1 + merged.size;
        continue;
      }
      const key = keyNode ? this.convert(keyNode, depth + 1) : { value: null, size: 1 };
      const keyText = mapKey(key.value);
      if (keyText === undefined) throw new DecodeError(keyNode ? offsetOf(keyNode) : 0, "mapping keys must be strings, numbers or booleans");
      if (explicitKeys.has(keyText)) throw new DecodeError(keyNode ? offsetOf(keyNode) : 0, `duplicate key ${JSON.stringify(keyText)}`);
      explicitKeys.add(keyText);
      const value = valueNode ? this.convert(valueNode, depth + 1) : { value: null, size: 1 };
      setOwn(object, keyText, value.value);
      size += key.size + value.size;
    }
    // Merged keys never override the mapping's own keys; among several merged mappings the first one wins.
    for (const merge of merges) {
      const sources = Array.isArray(merge.value) ? merge.value : [merge.value];
      for (const source of sources) {
        if (typeof source !== "object" || source === null || Array.isArray(source)) {
          throw new DecodeError(merge.offset, "a << merge key needs a mapping or a list of mappings");
        }
        for (const [key, value] of Object.entries(source)) {
          if (!Object.hasOwn(object, key)) setOwn(object, key, value);
        }
      }
    }
    return { value: object, size };
  }

  private resolveAlias(name: string, offset: number): Converted {
    const target = this.anchors.get(name);
    const converted = target ? this.anchored.get(target) : undefined;
    if (!converted) throw new DecodeError(offset, `alias *${name} has no anchor &${name} before it`);
    if (converted === IN_PROGRESS) throw new DecodeError(offset, `alias *${name} refers to a node that contains it`);
    this.budget.aliasNodes -= converted.size - 1;
    if (this.budget.aliasNodes < 0) {
      throw new DecodeError(offset, `aliases expand to more than ${this.limits.maxAliasNodes} nodes (an alias bomb?)`, true);
    }
    return converted;
  }
}

function offsetOf(node: YamlNode): number {
  return node.range?.[0] ?? 0;
}

/** Mapping keys as JSON (and Kubernetes) have them: text. Collections as keys have no such form. */
function mapKey(value: unknown): string | undefined {
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return undefined;
}

/** Plain assignment would turn a `__proto__` key into the object's prototype. */
function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}
