/**
 * YAML → typed Butane tree, decoded the way Butane's go-yaml v3 decodes into its Go structs:
 * - only the first document of a multi-document stream counts (yaml.v3's Decoder reads one document);
 * - an alias to an anchor that is not defined before it is an error;
 * - strings take the scalar's text, `!!binary` strings their base64-decoded bytes (kept exact, see encoding.ts);
 * - ints accept Go integer literals (0644, 0o644, 0x1a4, 1_000) and floats (truncated), as yaml.v3's resolver does;
 * - bools accept true/false when plain, and y/yes/on/n/no/off (plain or quoted), as yaml.v3 does for bool fields;
 * - null means "absent"; a null list item is dropped (the following items move up, as in Go);
 * - unknown keys are *warnings* ("unused key"), found by walking the decoded structure against the syntactic
 *   tree exactly like Butane's ValidateUnusedKeys (including its "context tree does not match" remark).
 * Linear in the input, so a Secret-sized document cannot stall translation: duplicate keys are found with one Set
 * per mapping (the yaml package's `uniqueKeys` compares each key with every earlier one), aliases are resolved
 * from one anchor table built in document order (its `Alias.resolve` rescans the document per alias), and nesting
 * deeper than MAX_BUTANE_DEPTH is refused while the text is tokenised, before any tree is built.
 */
import {
  type Document,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  Parser,
  parseAllDocuments,
  type Scalar,
  type ScalarTag,
  type Tags,
  visit,
  type YAMLMap,
  type Node as YamlNode,
} from "yaml";
import type { FieldType, ObjectSpec } from "./butane-schema.ts";
import type { DiagnosticReport, PathSegment, SourcePosition } from "./diagnostics.ts";
import { decodeStdBase64, goStringFromBytes } from "./encoding.ts";

export interface DecodedObject {
  readonly path: readonly PathSegment[];
  readonly fields: Map<string, Decoded>;
}

type Decoded = string | number | boolean | DecodedObject | DecodedList;

interface DecodedList {
  readonly path: readonly PathSegment[];
  readonly items: Decoded[];
}

function isDecodedObject(value: Decoded | undefined): value is DecodedObject {
  return typeof value === "object" && "fields" in value;
}

function isDecodedList(value: Decoded | undefined): value is DecodedList {
  return typeof value === "object" && "items" in value;
}

/** The parsed document plus a way to find the line/column of any path in it. */
interface ParsedSource {
  readonly root: YamlNode | null;
  /** Butane's report correlation: the position of the deepest node of the source tree on `path`. */
  readonly locate: (path: readonly PathSegment[]) => SourcePosition | undefined;
  /** The position of the key that ends `path` (Butane's tree.Key markers), else as `locate`. */
  readonly locateKey: (path: readonly PathSegment[]) => SourcePosition | undefined;
  /** Follows `*alias` references to their anchored node. */
  readonly resolveAlias: (node: YamlNode) => YamlNode | null;
  /** The syntactic node at `path` (aliases not followed), like Butane's context tree lookup. */
  readonly sourceNodeAt: (path: readonly PathSegment[]) => SourceLookup;
}

/** `node` null: the path exists but holds an empty value (`key:` with nothing after it). */
type SourceLookup = { found: false } | { found: true; node: YamlNode | null; position: SourcePosition | undefined };

interface DecodeContext {
  readonly report: DiagnosticReport;
  readonly resolveAlias: (node: YamlNode) => YamlNode | null;
}

const BINARY_TAG = "tag:yaml.org,2002:binary";
const STRING_TAG = "tag:yaml.org,2002:str";

/** Keep `!!binary` scalars as their text: go-yaml's base64 decoding (stricter than the yaml package's) runs later. */
function binaryAsText(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag !== "object" || tag.tag !== BINARY_TAG) return tag;
    const asText: ScalarTag = { ...(tag as ScalarTag), resolve: (text: string) => text };
    return asText;
  });
}

/** Deepest nesting accepted; Butane's schema is a dozen levels deep, the margin is for users' own structure. */
export const MAX_BUTANE_DEPTH = 100;
/** Most nodes that following aliases may copy out while decoding (go-yaml refuses "excessive aliasing" too). */
export const MAX_ALIAS_EXPANSION = 1_000_000;
/** The CST parser keeps the document and the scalar being read on its stack besides one entry per collection. */
const PARSER_STACK_OVERHEAD = 2;

/** Offset where the text first nests deeper than `maxDepth` collections, if it does (one linear pass). */
function tooDeepAt(source: string, maxDepth: number): number | undefined {
  const parser = new Parser();
  for (const lexeme of new Lexer().lex(source)) {
    for (const _ of parser.next(lexeme)) {
      // tokens are not needed, only the stack depth
    }
    if (parser.stack.length > maxDepth + PARSER_STACK_OVERHEAD) return parser.offset;
  }
  return undefined;
}

interface LocatedProblem {
  offset: number;
  message: string;
  position: SourcePosition | undefined;
}

/**
 * Duplicate keys, as `uniqueKeys: true` reports them ("Map keys must be unique" at the repeated key): scalar keys
 * with the same value; other keys are compared by identity, so they never repeat.
 */
function duplicateKeys(document: Document.Parsed, toPosition: (offset: number) => SourcePosition): LocatedProblem[] {
  const problems: LocatedProblem[] = [];
  visit(document, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const value: unknown = pair.key.value;
        // `===` never matches NaN with itself, a Set does: keep the yaml package's answer.
        if (typeof value === "number" && Number.isNaN(value)) continue;
        if (seen.has(value)) {
          const offset = pair.key.range?.[0] ?? 0;
          problems.push({ offset, message: "Map keys must be unique", position: toPosition(offset) });
        } else seen.add(value);
      }
    },
  });
  return problems;
}

export function parseButaneYaml(source: string, report: (message: string, position?: SourcePosition) => void): ParsedSource {
  const lineCounter = new LineCounter();
  const toPosition = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const deepAt = tooDeepAt(source, MAX_BUTANE_DEPTH);
  if (deepAt !== undefined) {
    lineCounter.addNewLine(0);
    for (let offset = source.indexOf("\n"); offset >= 0; offset = source.indexOf("\n", offset + 1)) lineCounter.addNewLine(offset + 1);
    report(`nested deeper than ${MAX_BUTANE_DEPTH} levels`, toPosition(deepAt));
    const nothing = (): undefined => undefined;
    return { root: null, locate: nothing, locateKey: nothing, resolveAlias: () => null, sourceNodeAt: () => ({ found: false }) };
  }
  const parsed = parseAllDocuments(source, {
    version: "1.1",
    lineCounter,
    uniqueKeys: false,
    prettyErrors: true,
    strict: true,
    customTags: binaryAsText,
  });
  // yaml.v3 decodes the first document and never looks at the rest of the stream.
  const document: Document.Parsed | undefined = Array.isArray(parsed) ? parsed[0] : undefined;

  // The parser's errors and the duplicate keys, in document order (as the parser would have reported them).
  const problems: LocatedProblem[] = (document?.errors ?? []).map((problem) => {
    const at = problem.linePos?.[0];
    const message = problem.message.split("\n")[0] ?? problem.message;
    return {
      offset: problem.pos[0],
      message: message.replace(/ at line \d+, column \d+:?$/, ""),
      position: at ? { line: at.line, column: at.col } : undefined,
    };
  });
  if (document) problems.push(...duplicateKeys(document, toPosition));
  problems.sort((a, b) => a.offset - b.offset);
  for (const problem of problems) report(problem.message, problem.position);
  const usable = document !== undefined && problems.length === 0;

  // Each alias's target: the last node carrying its anchor before it, in document order (a collection's own
  // anchor counts for aliases inside it), as `Alias.resolve` finds it, but from one pass over the document.
  const aliasTargets = new Map<YamlNode, YamlNode>();
  if (document && usable) {
    const anchors = new Map<string, YamlNode>();
    visit(document, {
      Node(_, node) {
        if (isAlias(node)) {
          const target = anchors.get(node.source);
          if (target) aliasTargets.set(node, target);
          // go-yaml refuses the whole document when an alias names no anchor defined before it.
          else report(`unknown anchor '${node.source}' referenced`, node.range ? toPosition(node.range[0]) : undefined);
        } else if (node.anchor) anchors.set(node.anchor, node);
      },
    });
  }

  // Every alias the decoder follows copies its target out (Go structs hold no shared values): what that adds up to
  // is charged against MAX_ALIAS_EXPANSION, so nested lists of aliases (an alias bomb) cannot run for hours.
  const sizes = new Map<YamlNode, number>();
  const sizeOf = (node: YamlNode): number => {
    const known = sizes.get(node);
    if (known !== undefined) return known;
    let size = 1;
    if (isMap(node)) for (const pair of node.items) size += (isNode(pair.key) ? sizeOf(pair.key) : 0) + (isNode(pair.value) ? sizeOf(pair.value) : 0);
    else if (isSeq(node)) for (const item of node.items) size += isNode(item) ? sizeOf(item) : 1;
    sizes.set(node, size);
    return size;
  };
  let expansionLeft = MAX_ALIAS_EXPANSION;
  const resolveAlias = (node: YamlNode): YamlNode | null => {
    let current: YamlNode | null = node;
    // Bounded: an alias can only point backwards, but never loop on a malformed tree.
    for (let depth = 0; depth < 64 && current && isAlias(current); depth++) current = aliasTargets.get(current) ?? null;
    if (!current || expansionLeft < 0) return null;
    expansionLeft -= sizeOf(current);
    if (expansionLeft < 0) {
      report("document contains excessive aliasing", node.range ? toPosition(node.range[0]) : undefined);
      return null;
    }
    return current;
  };

  const root = usable ? (document.contents as YamlNode | null) : null;

  /** Position of an empty value: right after the `:` (or `-`) that introduces it, as go-yaml reports it. */
  const emptyValuePosition = (afterOffset: number): SourcePosition => {
    let offset = afterOffset;
    while (offset < source.length && source[offset] !== ":" && source[offset] !== "-") offset++;
    return toPosition(Math.min(offset + 1, source.length));
  };
  const nodePosition = (node: YamlNode | null, introducedAt: number): SourcePosition | undefined => {
    if (!node?.range) return undefined;
    if (isScalar(node) && node.value === null && node.range[0] === node.range[1]) return emptyValuePosition(introducedAt);
    return toPosition(node.range[0]);
  };

  // Diagnostics look keys up by path, possibly once per key of a big mapping: index each mapping once.
  const keyIndexes = new Map<YAMLMap, Map<string, YAMLMap["items"][number]>>();
  const pairsByKey = (map: YAMLMap): Map<string, YAMLMap["items"][number]> => {
    let index = keyIndexes.get(map);
    if (!index) {
      index = new Map();
      for (const item of map.items) {
        if (!isScalar(item.key)) continue;
        const key = keyString(item.key);
        if (!index.has(key)) index.set(key, item);
      }
      keyIndexes.set(map, index);
    }
    return index;
  };

  interface Step {
    node: YamlNode | null;
    position: SourcePosition | undefined;
    keyPosition?: SourcePosition;
  }
  const walk = (path: readonly PathSegment[]): Step[] => {
    const steps: Step[] = [{ node: root, position: root?.range ? toPosition(root.range[0]) : { line: 1, column: 1 } }];
    let current: YamlNode | null = root;
    for (const segment of path) {
      if (isMap(current) && typeof segment === "string") {
        const pair = pairsByKey(current).get(segment);
        if (!pair) break;
        const keyNode = pair.key as Scalar;
        const value = (pair.value ?? null) as YamlNode | null;
        const keyEnd = keyNode.range?.[1] ?? 0;
        steps.push({
          node: value,
          position: value ? nodePosition(value, keyEnd) : emptyValuePosition(keyEnd),
          keyPosition: keyNode.range ? toPosition(keyNode.range[0]) : undefined,
        });
        current = value;
        continue;
      }
      if (isSeq(current) && typeof segment === "number" && segment >= 0 && segment < current.items.length) {
        const item = (current.items[segment] ?? null) as YamlNode | null;
        const previousEnd = segment === 0 ? (current.range?.[0] ?? 0) : ((current.items[segment - 1] as YamlNode | null)?.range?.[2] ?? 0);
        steps.push({ node: item, position: item ? nodePosition(item, previousEnd) : emptyValuePosition(previousEnd) });
        current = item;
        continue;
      }
      break;
    }
    return steps;
  };

  const locate = (path: readonly PathSegment[]): SourcePosition | undefined => walk(path).at(-1)?.position;
  const locateKey = (path: readonly PathSegment[]): SourcePosition | undefined => {
    const steps = walk(path);
    const last = steps.at(-1);
    return steps.length === path.length + 1 ? (last?.keyPosition ?? last?.position) : last?.position;
  };
  const sourceNodeAt = (path: readonly PathSegment[]): SourceLookup => {
    const steps = walk(path);
    if (steps.length !== path.length + 1) return { found: false };
    const last = steps.at(-1);
    return { found: true, node: last?.node ?? null, position: last?.position };
  };
  return { root, locate, locateKey, resolveAlias, sourceNodeAt };
}

/** A mapping key as go-yaml sees it: the scalar's text (the merge key `<<` included). */
function keyString(key: unknown): string {
  if (!isScalar(key)) return "";
  if (key.type === "PLAIN" && typeof key.source === "string") return key.source;
  return String(key.value);
}

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && key.type === "PLAIN" && key.source === "<<";
}

function scalarIsNull(scalar: Scalar): boolean {
  return scalar.value === null || scalar.value === undefined;
}

/** yaml.v3's Node.indicatedString: tagged !!str, or untagged and quoted/block. */
function isIndicatedString(scalar: Scalar): boolean {
  if (scalar.tag === STRING_TAG) return true;
  return (scalar.tag === undefined || scalar.tag === "!") && scalar.type !== "PLAIN";
}

/** Text go-yaml v3 would hand to a Go string field (`n.Value`). */
function scalarText(scalar: Scalar): string {
  if (typeof scalar.source === "string" && scalar.type === "PLAIN") return scalar.source;
  return typeof scalar.value === "string" ? scalar.value : String(scalar.value);
}

function yamlTag(scalar: Scalar): string {
  if (scalar.tag === BINARY_TAG) return "!!binary";
  if (isIndicatedString(scalar)) return "!!str";
  const value: unknown = scalar.value;
  if (typeof value === "boolean" && /^(true|false)$/i.test(scalarText(scalar))) return "!!bool";
  if (resolveNumber(scalarText(scalar)) !== undefined) return Number.isInteger(resolveNumber(scalarText(scalar))) ? "!!int" : "!!float";
  return "!!str";
}

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
// 2^63: any float at or beyond it overflows int64 (floats cannot hold 2^63 - 1 exactly).
const INT64_LIMIT = 2 ** 63;

/** Go's strconv.ParseInt(s, 0, 64) (underscores already stripped); undefined when it fails. */
function parseGoIntBase0(text: string): number | undefined {
  const match = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!match) return undefined;
  const sign = match[1] === "-" ? -1n : 1n;
  const digits = match[2] ?? "";
  let magnitude: bigint;
  if (/^0[xX]/.test(digits)) magnitude = BigInt(`0x${digits.slice(2)}`);
  else if (/^0[oO]/.test(digits)) magnitude = BigInt(`0o${digits.slice(2)}`);
  else if (/^0[bB]/.test(digits)) magnitude = BigInt(`0b${digits.slice(2)}`);
  else if (digits.length > 1 && digits.startsWith("0")) magnitude = BigInt(`0o${digits.slice(1)}`);
  else magnitude = BigInt(digits);
  const value = sign * magnitude;
  if (value > 9223372036854775807n || value < -9223372036854775808n) return undefined;
  return Number(value);
}

/**
 * yaml.v3's resolve() for an untagged plain scalar, numbers only: an int (Go literal syntax) or a float;
 * undefined when it resolves to something else (string, bool, null, timestamp).
 */
function resolveNumber(text: string): number | undefined {
  const first = text[0];
  if (first === undefined) return undefined;
  if (first === ".") {
    if (/^\.(inf|Inf|INF|nan|NaN|NAN)$/.test(text)) return undefined;
    const value = Number(text);
    return YAML_STYLE_FLOAT.test(text) && Number.isFinite(value) ? value : undefined;
  }
  const isDigit = first >= "0" && first <= "9";
  if (!isDigit && first !== "+" && first !== "-") return undefined;
  if (/^[-+]\.(inf|Inf|INF)$/.test(text)) return undefined;
  if (text === "-0" || text === "-0.0") return -0;
  // Only values that start with four digits and a dash can be timestamps; those are not numbers.
  if (/^\d{4}-/.test(text)) return undefined;
  const plain = text.replaceAll("_", "");
  const asInt = parseGoIntBase0(plain);
  if (asInt !== undefined) return asInt;
  if (YAML_STYLE_FLOAT.test(plain)) {
    const value = Number(plain);
    if (Number.isFinite(value)) return value;
  }
  return undefined;
}

/** What an int field gets from a plain scalar: ints as they are, floats truncated (Go's int64(float64) in yaml.v3). */
export function parseGoInteger(text: string): number | undefined {
  const value = resolveNumber(text);
  if (value === undefined || Math.abs(value) >= INT64_LIMIT) return undefined;
  const truncated = Math.trunc(value);
  return truncated === 0 ? 0 : truncated;
}

function decodeInt(scalar: Scalar): number | undefined {
  if (isIndicatedString(scalar) || scalar.tag === BINARY_TAG) return undefined;
  return parseGoInteger(scalarText(scalar));
}

const PLAIN_TRUE = new Set(["true", "True", "TRUE"]);
const PLAIN_FALSE = new Set(["false", "False", "FALSE"]);
const WORD_TRUE = new Set(["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"]);
const WORD_FALSE = new Set(["n", "N", "no", "No", "NO", "off", "Off", "OFF"]);

/** A bool field: true/false resolve only when plain; the YAML 1.1 words are accepted as strings (quoted too). */
function decodeBool(scalar: Scalar): boolean | undefined {
  if (scalar.tag === BINARY_TAG) return undefined;
  const text = scalarText(scalar);
  if (!isIndicatedString(scalar)) {
    if (PLAIN_TRUE.has(text)) return true;
    if (PLAIN_FALSE.has(text)) return false;
    // Anything else that resolves to a number is not a string, so not a yes/no word either.
    if (resolveNumber(text) !== undefined) return undefined;
  }
  if (WORD_TRUE.has(text)) return true;
  if (WORD_FALSE.has(text)) return false;
  return undefined;
}

function describeNode(node: YamlNode): string {
  if (isMap(node)) return "!!map";
  if (isSeq(node)) return "!!seq";
  if (isScalar(node)) return `${yamlTag(node)} \`${scalarText(node)}\``;
  return "node";
}

function goTypeName(type: FieldType): string {
  switch (type.kind) {
    case "string":
      return "string";
    case "int":
      return "int";
    case "bool":
      return "bool";
    case "list":
      return `[]${goTypeName(type.item)}`;
    case "object":
      return "object";
  }
}

/**
 * Decodes `node` against `spec`. Type mismatches go to `report`; a value that cannot be decoded is left out
 * so that decoding continues and every problem is reported at once. Unknown keys are ignored here (see
 * reportUnusedKeys), as go-yaml ignores them.
 */
export function decodeObject(input: YamlNode | null, spec: ObjectSpec, path: PathSegment[], context: DecodeContext): DecodedObject {
  const { report } = context;
  const decoded: DecodedObject = { path, fields: new Map() };
  const node = input && isAlias(input) ? context.resolveAlias(input) : input;
  if (!node || (isScalar(node) && scalarIsNull(node))) return decoded;
  if (!isMap(node)) {
    report.error(path, `cannot unmarshal ${describeNode(node)} into object`);
    return decoded;
  }
  // YAML merge keys (`<<: *defaults`), which go-yaml honours: merged maps first, explicit keys override.
  for (const pair of node.items) {
    if (!isMergeKey(pair.key)) continue;
    const value = pair.value as YamlNode | null;
    const resolved = value && isAlias(value) ? context.resolveAlias(value) : value;
    const sources = resolved && isSeq(resolved) ? resolved.items.map((item) => item as YamlNode | null) : [resolved];
    for (const source of sources) {
      const merged = decodeObject(source, spec, path, context);
      for (const [key, fieldValue] of merged.fields) if (!decoded.fields.has(key)) decoded.fields.set(key, fieldValue);
    }
  }
  for (const pair of node.items) {
    if (isMergeKey(pair.key)) continue;
    const keyNode = pair.key;
    if (!isScalar(keyNode)) continue;
    const keyText = keyString(keyNode);
    if (!Object.hasOwn(spec, keyText)) continue;
    const fieldType = spec[keyText];
    if (!fieldType) continue;
    const value = decodeValue(pair.value as YamlNode | null, fieldType, [...path, keyText], context);
    if (value !== undefined) decoded.fields.set(keyText, value);
    else decoded.fields.delete(keyText);
  }
  return decoded;
}

function decodeValue(input: YamlNode | null, type: FieldType, path: PathSegment[], context: DecodeContext): Decoded | undefined {
  const { report } = context;
  const node = input && isAlias(input) ? context.resolveAlias(input) : input;
  if (!node || (isScalar(node) && scalarIsNull(node))) return undefined;
  switch (type.kind) {
    case "string": {
      if (!isScalar(node)) break;
      if (node.tag === BINARY_TAG) {
        const bytes = decodeStdBase64(scalarText(node));
        if (bytes === undefined) {
          report.error(path, "!!binary value contains invalid base64 data");
          return undefined;
        }
        return goStringFromBytes(bytes);
      }
      return scalarText(node);
    }
    case "int": {
      if (!isScalar(node)) break;
      const parsed = decodeInt(node);
      if (parsed === undefined) break;
      return parsed;
    }
    case "bool": {
      if (!isScalar(node)) break;
      const parsed = decodeBool(node);
      if (parsed === undefined) break;
      return parsed;
    }
    case "list": {
      if (!isSeq(node)) break;
      const items: Decoded[] = [];
      for (const item of node.items) {
        const itemNode = item as YamlNode | null;
        const resolved = itemNode && isAlias(itemNode) ? context.resolveAlias(itemNode) : itemNode;
        // go-yaml drops a null item of a struct or string list: later items move up (and their paths with them).
        if (!resolved || (isScalar(resolved) && scalarIsNull(resolved))) continue;
        const decoded = decodeValue(itemNode, type.item, [...path, items.length], context);
        if (decoded !== undefined) items.push(decoded);
      }
      return { path, items };
    }
    case "object":
      if (!isMap(node)) break;
      return decodeObject(node, type.fields, path, context);
  }
  report.error(path, `cannot unmarshal ${describeNode(node)} into ${goTypeName(type)}`);
  return undefined;
}

function contextMismatch(path: readonly PathSegment[]): string {
  const where = path.length === 0 ? "$" : `$.${path.map(String).join(".")}`;
  return `context tree does not match content tree at ${where}. Line and column reporting may be inconsistent. Unused keys may not be reported`;
}

/**
 * Butane's ValidateUnusedKeys: every struct of the decoded config (present or not) is compared with the
 * syntactic node at the same path; keys the struct does not have are "unused key" warnings, a node that is
 * not a mapping gets the "context tree does not match" warning. Paths use decoded list indices, as in Go.
 */
export function reportUnusedKeys(root: DecodedObject, spec: ObjectSpec, parsed: ParsedSource, report: DiagnosticReport): void {
  const visitObject = (object: DecodedObject | undefined, objectSpec: ObjectSpec, path: readonly PathSegment[]): void => {
    const lookup = parsed.sourceNodeAt(path);
    if (lookup.found) {
      const node = lookup.node;
      if (!isMap(node)) {
        report.warning(path, contextMismatch(path), lookup.position);
      } else {
        for (const pair of node.items) {
          const keyText = keyString(pair.key);
          if (!Object.hasOwn(objectSpec, keyText)) {
            const keyPath = [...path, keyText];
            report.warning(keyPath, `unused key ${keyText}`, parsed.locateKey(keyPath));
          }
        }
      }
    }
    for (const [name, type] of Object.entries(objectSpec)) {
      const value = object?.fields.get(name);
      visitField(value, type, [...path, name]);
    }
  };
  const visitField = (value: Decoded | undefined, type: FieldType, path: readonly PathSegment[]): void => {
    if (type.kind === "object") {
      // Go walks a non-pointer struct even when absent; a nil pointer (Butane 1.2/1.3 clevis) is skipped.
      if (type.pointer && !isDecodedObject(value)) return;
      visitObject(isDecodedObject(value) ? value : undefined, type.fields, path);
    } else if (type.kind === "list" && type.item.kind === "object" && isDecodedList(value)) {
      const itemFields = type.item.fields;
      value.items.forEach((item, index) => {
        visitObject(isDecodedObject(item) ? item : undefined, itemFields, [...path, index]);
      });
    }
  };
  visitObject(root, spec, []);
}

/** Typed accessors over a decoded object. */
export function getString(object: DecodedObject | undefined, key: string): string | undefined {
  const value = object?.fields.get(key);
  return typeof value === "string" ? value : undefined;
}

export function getInt(object: DecodedObject | undefined, key: string): number | undefined {
  const value = object?.fields.get(key);
  return typeof value === "number" ? value : undefined;
}

export function getBool(object: DecodedObject | undefined, key: string): boolean | undefined {
  const value = object?.fields.get(key);
  return typeof value === "boolean" ? value : undefined;
}

export function getObject(object: DecodedObject | undefined, key: string): DecodedObject | undefined {
  const value = object?.fields.get(key);
  return isDecodedObject(value) ? value : undefined;
}

export function getList(object: DecodedObject | undefined, key: string): DecodedList | undefined {
  const value = object?.fields.get(key);
  return isDecodedList(value) ? value : undefined;
}

export function getObjects(object: DecodedObject | undefined, key: string): DecodedObject[] {
  return (getList(object, key)?.items ?? []).filter(isDecodedObject);
}

export function getStrings(object: DecodedObject | undefined, key: string): string[] | undefined {
  const list = getList(object, key);
  return list?.items.map((item) => (typeof item === "string" ? item : ""));
}
