/**
 * YAML → typed Butane tree. Parsing uses the `yaml` package in YAML 1.1 mode (as Butane's go-yaml reads
 * `mode: 0644` as octal 420); scalars are then typed against the Butane schema the way go-yaml v3 decodes
 * into Go fields: strings take the scalar's source text, ints accept Go integer literals (0644, 0o644,
 * 0x1a4, 1_000), bools accept true/false plus the YAML 1.1 yes/no/on/off forms, and null means "absent".
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Scalar, type Node as YamlNode } from "yaml";
import type { FieldType, ObjectSpec } from "./butane-schema.ts";
import type { DiagnosticReport, PathSegment, SourcePosition } from "./diagnostics.ts";

export interface DecodedObject {
  readonly path: readonly PathSegment[];
  readonly fields: Map<string, Decoded>;
}

export type Decoded = string | number | boolean | DecodedObject | DecodedList;

export interface DecodedList {
  readonly path: readonly PathSegment[];
  readonly items: Decoded[];
}

export function isDecodedObject(value: Decoded | undefined): value is DecodedObject {
  return typeof value === "object" && "fields" in value;
}

export function isDecodedList(value: Decoded | undefined): value is DecodedList {
  return typeof value === "object" && "items" in value;
}

/** The parsed document plus a way to find the line/column of any path in it. */
export interface ParsedSource {
  readonly root: YamlNode | null;
  readonly locate: (path: readonly PathSegment[]) => SourcePosition | undefined;
  readonly locateKey: (path: readonly PathSegment[]) => SourcePosition | undefined;
  /** Follows `*alias` references to their anchored node. */
  readonly resolveAlias: (node: YamlNode) => YamlNode | null;
}

export interface DecodeContext {
  readonly report: DiagnosticReport;
  readonly locateKey: (path: readonly PathSegment[]) => SourcePosition | undefined;
  readonly resolveAlias: (node: YamlNode) => YamlNode | null;
}

interface PositionEntry {
  key?: SourcePosition;
  value?: SourcePosition;
}

export function parseButaneYaml(source: string, report: (message: string, position?: SourcePosition) => void): ParsedSource {
  const lineCounter = new LineCounter();
  const document = parseDocument(source, {
    version: "1.1",
    lineCounter,
    uniqueKeys: true,
    prettyErrors: true,
    strict: true,
  });
  const positions = new Map<string, PositionEntry>();
  const toPosition = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  for (const problem of document.errors) {
    const at = problem.linePos?.[0];
    const message = problem.message.split("\n")[0] ?? problem.message;
    report(message.replace(/ at line \d+, column \d+:?$/, ""), at ? { line: at.line, column: at.col } : undefined);
  }

  const indexNode = (node: YamlNode | null, path: PathSegment[]): void => {
    if (!node) return;
    const key = path.join("\u0000");
    const entry = positions.get(key) ?? {};
    if (node.range) entry.value = toPosition(node.range[0]);
    positions.set(key, entry);
    if (isMap(node)) {
      for (const pair of node.items) {
        const keyNode = pair.key;
        if (!isScalar(keyNode)) continue;
        const childPath = [...path, String(keyNode.value)];
        const childKey = childPath.join("\u0000");
        const childEntry = positions.get(childKey) ?? {};
        if (keyNode.range) childEntry.key = toPosition(keyNode.range[0]);
        positions.set(childKey, childEntry);
        const valueNode = pair.value;
        if (valueNode && typeof valueNode === "object" && "range" in valueNode) {
          indexNode(valueNode as YamlNode, childPath);
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        if (item && typeof item === "object" && "range" in item) indexNode(item as YamlNode, [...path, index]);
      });
    }
  };
  const root = document.errors.length > 0 ? null : (document.contents as YamlNode | null);
  indexNode(root, []);

  const locate = (path: readonly PathSegment[]): SourcePosition | undefined => {
    for (let length = path.length; length >= 0; length--) {
      const entry = positions.get(path.slice(0, length).join("\u0000"));
      if (!entry) continue;
      // A value reported at its own path points at the value (as Butane does); an ancestor at its key.
      if (length === path.length) return entry.value ?? entry.key;
      return entry.key ?? entry.value;
    }
    return undefined;
  };
  const locateKey = (path: readonly PathSegment[]): SourcePosition | undefined => positions.get(path.join("\u0000"))?.key ?? locate(path);
  const resolveAlias = (node: YamlNode): YamlNode | null => {
    let current: YamlNode | null = node;
    // Bounded: an alias can only point backwards, but never loop on a malformed tree.
    for (let depth = 0; depth < 64 && current && isAlias(current); depth++) {
      const target: unknown = current.resolve(document);
      current = target && typeof target === "object" && "range" in target ? (target as YamlNode) : null;
    }
    return current;
  };
  return { root, locate, locateKey, resolveAlias };
}

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && key.type === "PLAIN" && key.source === "<<";
}

function scalarIsNull(scalar: Scalar): boolean {
  return scalar.value === null || scalar.value === undefined;
}

/** Text go-yaml v3 would hand to a Go string field: the raw source for plain scalars. */
function scalarText(scalar: Scalar): string {
  if (scalar.type === "PLAIN" && typeof scalar.source === "string") return scalar.source;
  return typeof scalar.value === "string" ? scalar.value : String(scalar.value);
}

function yamlTag(scalar: Scalar): string {
  if (scalar.type !== "PLAIN") return "!!str";
  const value: unknown = scalar.value;
  if (typeof value === "boolean") return "!!bool";
  if (typeof value === "number") return Number.isInteger(value) ? "!!int" : "!!float";
  return "!!str";
}

/** Go's strconv.ParseInt(s, 0, 64) after go-yaml strips underscores. */
export function parseGoInteger(text: string): number | undefined {
  const plain = text.replaceAll("_", "");
  const match = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(plain);
  if (!match) {
    // go-yaml also accepts integral floats (e.g. `420.0`) for int fields.
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(plain)) {
      const asFloat = Number(plain);
      if (Number.isInteger(asFloat) && Number.isSafeInteger(asFloat)) return asFloat;
    }
    return undefined;
  }
  const sign = match[1] === "-" ? -1 : 1;
  const digits = match[2] ?? "";
  let magnitude: number;
  if (/^0[xX]/.test(digits)) magnitude = Number.parseInt(digits.slice(2), 16);
  else if (/^0[oO]/.test(digits)) magnitude = Number.parseInt(digits.slice(2), 8);
  else if (/^0[bB]/.test(digits)) magnitude = Number.parseInt(digits.slice(2), 2);
  else if (digits.length > 1 && digits.startsWith("0")) magnitude = Number.parseInt(digits.slice(1), 8);
  else magnitude = Number.parseInt(digits, 10);
  const value = sign * magnitude;
  return Number.isSafeInteger(value) ? value : undefined;
}

const TRUE_WORDS = new Set(["true", "True", "TRUE", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON"]);
const FALSE_WORDS = new Set(["false", "False", "FALSE", "n", "N", "no", "No", "NO", "off", "Off", "OFF"]);

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
 * Decodes `node` against `spec`. Unknown keys and type mismatches go to `report`; a value that cannot be
 * decoded is left out so that decoding continues and every problem is reported at once.
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
    const keyText = isScalar(keyNode) ? String(keyNode.value) : "?";
    const childPath = [...path, keyText];
    const fieldType = isScalar(keyNode) ? spec[keyText] : undefined;
    if (!fieldType || !Object.hasOwn(spec, keyText)) {
      report.error(childPath, `Unused key ${keyText}`, context.locateKey(childPath));
      continue;
    }
    const valueNode = pair.value as YamlNode | null;
    const value = decodeValue(valueNode, fieldType, childPath, context);
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
      return scalarText(node);
    }
    case "int": {
      if (!isScalar(node)) break;
      if (node.type !== "PLAIN") break;
      const parsed = parseGoInteger(scalarText(node));
      if (parsed === undefined) break;
      return parsed;
    }
    case "bool": {
      if (!isScalar(node)) break;
      const text = scalarText(node);
      if (TRUE_WORDS.has(text)) return true;
      if (FALSE_WORDS.has(text)) return false;
      break;
    }
    case "list": {
      if (!isSeq(node)) break;
      const items: Decoded[] = [];
      node.items.forEach((item, index) => {
        const itemPath = [...path, index];
        const itemNode = item as YamlNode | null;
        if (!itemNode || (isScalar(itemNode) && scalarIsNull(itemNode))) {
          // go-yaml keeps a zero value for a null list item; keep list indices aligned with the source.
          items.push(type.item.kind === "object" ? { path: itemPath, fields: new Map() } : zeroValue(type.item, itemPath));
          return;
        }
        const decoded = decodeValue(itemNode, type.item, itemPath, context);
        items.push(decoded ?? zeroValue(type.item, itemPath));
      });
      return { path, items };
    }
    case "object":
      if (!isMap(node)) break;
      return decodeObject(node, type.fields, path, context);
  }
  report.error(path, `cannot unmarshal ${describeNode(node)} into ${goTypeName(type)}`);
  return undefined;
}

function zeroValue(type: FieldType, path: PathSegment[]): Decoded {
  switch (type.kind) {
    case "string":
      return "";
    case "int":
      return 0;
    case "bool":
      return false;
    case "list":
      return { path, items: [] };
    case "object":
      return { path, fields: new Map() };
  }
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
