// A fast path for the YAML nearly every resource file is written in: block mappings and sequences, one-line plain
// and quoted scalars, `|` / `|-` literal blocks under a key, `---` separators, comments. It gives exactly what decodeYamlStream (yaml-stream.ts) would,
// about 20× cheaper, so small plain files can be decoded on the serving thread instead of paying a worker round
// trip each (10 000 files: ~10 s to ready through the pool). Anything outside that subset — flow collections,
// anchors and aliases, tags, folded or multi-line scalars, escapes, duplicate keys, non-decimal numbers, tabs — gives
// `undefined`, and the caller decodes the file in full on a worker with its limits and time budget. Linear in the
// text, with no expansion, so even a hostile file costs at most one pass over its (size-limited) text.

/** Some construct outside the subset: decode in full instead. */
class NotPlain extends Error {}

interface Line {
  indent: number;
  /** The line without its indentation or trailing spaces. */
  text: string;
  raw: string;
  /** Only spaces (or nothing). */
  blank: boolean;
  /** Blank or a comment: not part of the structure (but part of a literal block's text). */
  skip: boolean;
}

const KEY = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;
const NULL = /^(?:~|[Nn]ull|NULL)$/;
const TRUE = /^(?:[Tt]rue|TRUE)$/;
const FALSE = /^(?:[Ff]alse|FALSE)$/;
const DECIMAL = /^[-+]?[0-9]+$/;
/** The YAML 1.2 core schema's other numbers (octal, hex, floats, .inf, .nan): left to the full decoder. */
const OTHER_NUMBER = /^(?:0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$/;
/** Characters that start something other than a plain scalar (or that the subset leaves out). */
const INDICATORS = "[]{}#&*!|>%@`,?:";
/** Tabs, carriage returns, a BOM, control characters and the other line breaks are left to the full decoder. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point here
const UNUSUAL = /[\t\r\uFEFF\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u0085\u2028\u2029]/;

/** The documents of `text` (null for an empty one), or undefined when it is not in the plain subset. */
export function decodePlainYaml(text: string, maxDepth: number): unknown[] | undefined {
  // Without a final newline a literal block's last line break is a special case; such files are rare (and suspect).
  if (UNUSUAL.test(text) || !text.endsWith("\n")) return undefined;
  try {
    const documents: unknown[] = [];
    // One string per distinct value in the file: a machine file names its UUID, its name and its Secret's name
    // in each document, and every copy would be kept for as long as the configs are served.
    const values = new Map<string, string>();
    for (const lines of splitDocuments(text)) {
      if (lines.every((line) => line.skip)) {
        documents.push(null);
        continue;
      }
      const parser = new PlainParser(lines, maxDepth, values);
      documents.push(parser.document());
    }
    return documents;
  } catch (error) {
    if (error instanceof NotPlain) return undefined;
    throw error;
  }
}

/** Content lines per document. Content before the first `---` is a document only if there is any. */
function splitDocuments(text: string): Line[][] {
  const documents: Line[][] = [];
  let current: Line[] = [];
  let separators = 0;
  const hasContent = (lines: readonly Line[]): boolean => lines.some((line) => !line.skip);
  const raws = text.split("\n");
  raws.pop(); // after the final newline
  for (const raw of raws) {
    const content = raw.trimStart();
    const indent = raw.length - content.length;
    if (indent === 0 && (raw.startsWith("---") || raw.startsWith("..."))) {
      if (!/^---(?: +#.*)?$/.test(raw.trimEnd())) throw new NotPlain(); // `--- value`, `...`, `----`
      if (separators > 0 || hasContent(current)) documents.push(current);
      current = [];
      separators++;
      continue;
    }
    const blank = content === "";
    current.push({ indent, text: content.trimEnd(), raw, blank, skip: blank || content.startsWith("#") });
  }
  if (separators === 0 && !hasContent(current)) throw new NotPlain(); // no document at all: let the full decoder say so
  if (separators > 0 || hasContent(current)) documents.push(current);
  return documents;
}

class PlainParser {
  private next = 0;

  constructor(
    private readonly lines: readonly Line[],
    private readonly maxDepth: number,
    private readonly values: Map<string, string>,
  ) {}

  private scalar(content: string): unknown {
    const value = scalar(content);
    return typeof value === "string" ? this.kept(value) : value;
  }

  /** The file's one copy of a value, owned (see `ownedCopy`). */
  private kept(value: string): string {
    const known = this.values.get(value);
    if (known !== undefined) return known;
    const owned = ownedCopy(value);
    this.values.set(owned, owned);
    return owned;
  }

  document(): unknown {
    const value = this.block(1);
    if (this.next < this.lines.length) throw new NotPlain(); // a line indented less than the document
    return value;
  }

  /** The collection starting at the current line; `depth` counts it. */
  private block(depth: number): unknown {
    if (depth > this.maxDepth) throw new NotPlain();
    const line = this.current();
    if (!line) throw new NotPlain();
    return isSequenceItem(line.text) ? this.sequence(line.indent, depth) : this.mapping(line.indent, depth, undefined);
  }

  private sequence(indent: number, depth: number): unknown[] {
    const items: unknown[] = [];
    for (let line = this.current(); line && line.indent === indent && isSequenceItem(line.text); line = this.current()) {
      this.next++;
      const rest = line.text.slice(1);
      const content = rest.trimStart();
      if (content === "") {
        items.push(this.valueBelow(indent, depth, false));
        continue;
      }
      if (isSequenceItem(content)) throw new NotPlain(); // `- - a`
      const pair = splitKey(content);
      if (pair) {
        if (depth + 1 > this.maxDepth) throw new NotPlain();
        items.push(this.mapping(indent + 1 + (rest.length - content.length), depth + 1, pair));
        continue;
      }
      items.push(this.scalar(content));
      this.nothingDeeper(indent);
    }
    return items;
  }

  /** `first`: the pair already read from a `- key: value` line. */
  private mapping(indent: number, depth: number, first: Pair | undefined): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    const take = (pair: Pair): void => {
      if (Object.hasOwn(object, pair.key)) throw new NotPlain(); // duplicate: the full decoder words the error
      if (pair.value.startsWith("|")) {
        object[pair.key] = this.literalBlock(pair.value, indent);
        return;
      }
      if (pair.value === "") {
        object[pair.key] = this.valueBelow(indent, depth, true);
        return;
      }
      object[pair.key] = this.scalar(pair.value);
      this.nothingDeeper(indent);
    };
    if (first) take(first);
    for (let line = this.current(); line && line.indent === indent; line = this.current()) {
      const pair = splitKey(line.text);
      if (!pair) throw new NotPlain();
      this.next++;
      take(pair);
    }
    return object;
  }

  /** The value of `key:` or `-` with nothing after it: a deeper block, a sequence at the key's indent, or null. */
  private valueBelow(indent: number, depth: number, sequenceAtSameIndent: boolean): unknown {
    const line = this.current();
    if (line && line.indent > indent) {
      const value = this.block(depth + 1);
      this.nothingDeeper(indent);
      return value;
    }
    if (line && sequenceAtSameIndent && line.indent === indent && isSequenceItem(line.text)) {
      if (depth + 1 > this.maxDepth) throw new NotPlain();
      return this.sequence(indent, depth + 1);
    }
    return null;
  }

  /**
   * A `|` (clip) or `|-` (strip) block under a key at `indent`: the following lines indented deeper, less the first
   * one's indentation. Leading blank lines, blank lines with extra spaces, `|+` and indentation indicators are left
   * to the full decoder.
   */
  private literalBlock(header: string, indent: number): string {
    const match = /^\|(-?)(?: +#.*)?$/.exec(header);
    if (!match) throw new NotPlain();
    const lines: string[] = [];
    let contentIndent = -1;
    for (let line = this.lines[this.next]; line; line = this.lines[this.next]) {
      if (line.blank) {
        if (contentIndent < 0 || line.raw.length > contentIndent) throw new NotPlain();
        lines.push("");
      } else {
        if (line.indent <= indent) break;
        if (contentIndent < 0) contentIndent = line.indent;
        else if (line.indent < contentIndent) throw new NotPlain(); // an error the full decoder words
        lines.push(line.raw.slice(contentIndent));
      }
      this.next++;
    }
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    if (lines.length === 0) return "";
    return this.kept(match[1] === "-" ? lines.join("\n") : `${lines.join("\n")}\n`);
  }

  /** After a value, a line indented deeper would continue a multi-line scalar (or be an error). */
  private nothingDeeper(indent: number): void {
    const line = this.current();
    if (line && line.indent > indent) throw new NotPlain();
  }

  /** The next line that is not blank or a comment. */
  private current(): Line | undefined {
    while (this.lines[this.next]?.skip) this.next++;
    return this.lines[this.next];
  }
}

function isSequenceItem(text: string): boolean {
  return text === "-" || text.startsWith("- ");
}

interface Pair {
  key: string;
  /** The text after `: `, "" when the value is on the following lines (or null). */
  value: string;
}

/** `key: value` or `key:` with a plain string key; undefined when the line is not that. */
function splitKey(text: string): Pair | undefined {
  const separator = text.indexOf(": ");
  const end = separator >= 0 ? separator : text.endsWith(":") ? text.length - 1 : -1;
  if (end <= 0) return undefined;
  const key = text.slice(0, end);
  if (!KEY.test(key)) return undefined;
  // Keys that would resolve to something other than the same text, and one plain assignment would mishandle.
  if (NULL.test(key) || TRUE.test(key) || FALSE.test(key) || DECIMAL.test(key) || OTHER_NUMBER.test(key) || key === "__proto__") throw new NotPlain();
  const value = text.slice(end + 1).trimStart();
  if (value.startsWith("#")) throw new NotPlain();
  return { key, value };
}

function scalar(content: string): unknown {
  const first = content[0] ?? "";
  if (first === "'") {
    let value = "";
    let from = 1;
    for (;;) {
      const quote = content.indexOf("'", from);
      if (quote < 0) throw new NotPlain(); // continues on the next line
      if (content[quote + 1] === "'") {
        value += content.slice(from, quote + 1);
        from = quote + 2;
        continue;
      }
      value += content.slice(from, quote);
      onlyComment(content.slice(quote + 1));
      return value;
    }
  }
  if (first === '"') {
    const quote = content.indexOf('"', 1);
    if (quote < 0) throw new NotPlain();
    const value = content.slice(1, quote);
    if (value.includes("\\")) throw new NotPlain(); // escapes
    onlyComment(content.slice(quote + 1));
    return value;
  }
  if (INDICATORS.includes(first) || isSequenceItem(content)) throw new NotPlain();
  const comment = content.indexOf(" #");
  const value = (comment >= 0 ? content.slice(0, comment) : content).trimEnd();
  if (value.includes(": ") || value.endsWith(":")) throw new NotPlain();
  if (NULL.test(value)) return null;
  if (TRUE.test(value)) return true;
  if (FALSE.test(value)) return false;
  if (DECIMAL.test(value)) return Number.parseInt(value, 10);
  if (OTHER_NUMBER.test(value)) throw new NotPlain();
  return value;
}

/**
 * A copy of `value` that does not share the file's text. Every slice (and split) of a string is a view that keeps
 * the whole text alive in JSC, so one kept name or UUID held a machine's whole file: at 10 000 machines 11 MiB of
 * file texts stayed in the heap for as long as the configs were served. A JSON round trip is exact for every
 * string (lone surrogates included) and copies it; ~0.2 µs per distinct value.
 */
function ownedCopy(value: string): string {
  return JSON.parse(JSON.stringify(value)) as string;
}

/** What may follow a closing quote: nothing, or a comment. */
function onlyComment(rest: string): void {
  if (rest !== "" && !/^ +(#.*)?$/.test(rest)) throw new NotPlain();
}
