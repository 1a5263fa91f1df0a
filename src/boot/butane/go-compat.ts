/**
 * The few Go library behaviours Ignition's validation depends on, ported so that we accept and refuse exactly
 * what it does: net/url.Parse (which URLs fail to parse, their scheme), path.Clean/path.Ext, go-systemd's unit
 * file lexer (with its bufio-based line-length check) and vincent-petithory/dataurl's data URL grammar.
 */
import { decodeStdBase64, utf8Bytes } from "./encoding.ts";

// ---------------------------------------------------------------------------------------------- net/url

interface GoUrl {
  scheme: string;
  opaque: string;
  rawQuery: string;
}

const HEX = /^[0-9a-fA-F]$/;

/** net/url's unescape validity check for a mode ("path", "fragment", "host", "userinfo"). */
function unescapeOk(text: string, mode: "path" | "fragment" | "host" | "userinfo"): boolean {
  for (let index = 0; index < text.length; index++) {
    const char = text[index] ?? "";
    if (char === "%") {
      const high = text[index + 1] ?? "";
      const low = text[index + 2] ?? "";
      if (!HEX.test(high) || !HEX.test(low)) return false;
      // In a host, only %25 (an escaped '%', for IPv6 zones) or bytes ≥ 0x80 may be escaped.
      if (mode === "host" && Number.parseInt(high, 16) < 8 && text.slice(index, index + 3) !== "%25") return false;
      index += 2;
      continue;
    }
    if (mode === "host" && char.charCodeAt(0) < 0x80 && !isHostChar(char)) return false;
  }
  return true;
}

function isHostChar(char: string): boolean {
  return /^[A-Za-z0-9\-._~!$&'()*+,;=:[\]<>"]$/.test(char);
}

function validOptionalPort(port: string): boolean {
  if (port === "") return true;
  return /^:\d*$/.test(port);
}

function parseHostOk(host: string): boolean {
  if (host.startsWith("[")) {
    const end = host.lastIndexOf("]");
    if (end < 0) return false;
    if (!validOptionalPort(host.slice(end + 1))) return false;
    const zone = host.slice(0, end).indexOf("%25");
    if (zone >= 0) {
      if (!unescapeOk(host.slice(0, zone), "host")) return false;
      return unescapeOk(host.slice(zone, end), "path") && unescapeOk(host.slice(end), "host");
    }
    return unescapeOk(host, "host");
  }
  const colon = host.lastIndexOf(":");
  if (colon >= 0 && !validOptionalPort(host.slice(colon))) return false;
  return unescapeOk(host, "host");
}

function validUserinfo(text: string): boolean {
  return /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(text);
}

/** Go's url.Parse: the parsed scheme/opaque/query, or undefined where Parse returns an error. */
export function goParseUrl(raw: string): GoUrl | undefined {
  const hash = raw.indexOf("#");
  const main = hash < 0 ? raw : raw.slice(0, hash);
  const fragment = hash < 0 ? "" : raw.slice(hash + 1);
  // Control bytes anywhere are refused.
  for (let index = 0; index < main.length; index++) {
    const code = main.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return undefined;
  }
  if (main === "*") return { scheme: "", opaque: "", rawQuery: "" };
  let scheme = "";
  let rest = main;
  for (let index = 0; index < main.length; index++) {
    const char = main[index] ?? "";
    if (/[A-Za-z]/.test(char)) continue;
    if (/[0-9+\-.]/.test(char)) {
      if (index === 0) break;
      continue;
    }
    if (char === ":") {
      if (index === 0) return undefined; // missing protocol scheme
      scheme = main.slice(0, index).toLowerCase();
      rest = main.slice(index + 1);
    }
    break;
  }
  let rawQuery = "";
  if (rest.endsWith("?") && rest.split("?").length === 2) rest = rest.slice(0, -1);
  else {
    const question = rest.indexOf("?");
    if (question >= 0) {
      rawQuery = rest.slice(question + 1);
      rest = rest.slice(0, question);
    }
  }
  if (!rest.startsWith("/")) {
    if (scheme !== "") return fragmentOk(fragment) ? { scheme, opaque: rest, rawQuery } : undefined;
    const segment = rest.split("/")[0] ?? "";
    if (segment.includes(":")) return undefined; // first path segment in URL cannot contain colon
  }
  if ((scheme !== "" || !rest.startsWith("///")) && rest.startsWith("//")) {
    let authority = rest.slice(2);
    rest = "";
    const slash = authority.indexOf("/");
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!validUserinfo(userinfo) || !unescapeOk(userinfo, "userinfo")) return undefined;
    }
    if (!parseHostOk(at >= 0 ? authority.slice(at + 1) : authority)) return undefined;
  }
  if (!unescapeOk(rest, "path")) return undefined;
  return fragmentOk(fragment) ? { scheme, opaque: "", rawQuery } : undefined;
}

function fragmentOk(fragment: string): boolean {
  return unescapeOk(fragment, "fragment");
}

/** url.Values from a raw query: the values of `key` (Go's ParseQuery, semicolons refused). */
export function queryValues(rawQuery: string, key: string): string[] | undefined {
  const values: string[] = [];
  let found = false;
  for (const part of rawQuery.split("&")) {
    if (part === "" || part.includes(";")) continue;
    const [rawName = "", rawValue = ""] = part.includes("=") ? [part.slice(0, part.indexOf("=")), part.slice(part.indexOf("=") + 1)] : [part, ""];
    const name = queryUnescape(rawName);
    const value = queryUnescape(rawValue);
    if (name === undefined || value === undefined) continue;
    if (name === key) {
      found = true;
      values.push(value);
    }
  }
  return found ? values : undefined;
}

function queryUnescape(text: string): string | undefined {
  if (!unescapeOk(text, "path")) return undefined;
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text;
  }
}

// ---------------------------------------------------------------------------------------------- path

/** Go's path.Clean. */
export function cleanPath(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
      else if (!rooted) parts.push("..");
      continue;
    }
    parts.push(part);
  }
  const joined = parts.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

/** Go's path.Ext: the suffix from the final dot of the final slash-separated element. */
export function pathExt(path: string): string {
  for (let index = path.length - 1; index >= 0 && path[index] !== "/"; index--) {
    if (path[index] === ".") return path.slice(index);
  }
  return "";
}

/** Go's path.Join of two elements. */
export function joinPath(first: string, second: string): string {
  const joined = [first, second].filter((part) => part !== "").join("/");
  return joined === "" ? "" : cleanPath(joined);
}

// ---------------------------------------------------------------------------------------------- systemd units

export interface UnitOption {
  section: string;
  name: string;
  value: string;
}

const LINE_MAX = 2048;
const BUFFER_SIZE = 4096;

function isGoSpace(rune: number): boolean {
  return (
    rune === 0x09 ||
    rune === 0x0a ||
    rune === 0x0b ||
    rune === 0x0c ||
    rune === 0x0d ||
    rune === 0x20 ||
    rune === 0x85 ||
    rune === 0xa0 ||
    rune === 0x1680 ||
    (rune >= 0x2000 && rune <= 0x200a) ||
    rune === 0x2028 ||
    rune === 0x2029 ||
    rune === 0x202f ||
    rune === 0x205f ||
    rune === 0x3000
  );
}

/** bytes.TrimSpace over UTF-8 bytes (only ASCII and the Latin-1/Unicode spaces matter in practice). */
function trimSpaceBytes(bytes: number[]): number[] {
  const text = new TextDecoder().decode(Uint8Array.from(bytes));
  let start = 0;
  let end = text.length;
  while (start < end && isGoSpace(text.codePointAt(start) ?? 0)) start++;
  while (end > start && isGoSpace(text.codePointAt(end - 1) ?? 0)) end--;
  return [...utf8Bytes(text.slice(start, end))];
}

/** A bufio.Reader (4096-byte buffer) over a byte string, as far as go-systemd's lexer observes it. */
class GoBufferedReader {
  private buffer: number[] = [];
  private consumed = 0;
  private eof = false;

  constructor(private readonly source: Uint8Array) {}

  buffered(): number {
    return this.buffer.length;
  }

  private fill(): void {
    const room = BUFFER_SIZE - this.buffer.length;
    const chunk = this.source.subarray(this.consumed, this.consumed + room);
    if (chunk.length === 0) {
      this.eof = true;
      return;
    }
    for (const byte of chunk) this.buffer.push(byte);
    this.consumed += chunk.length;
  }

  peek(count: number): number[] {
    while (this.buffer.length < count && this.buffer.length < BUFFER_SIZE && !this.eof) this.fill();
    return this.buffer.slice(0, count);
  }

  /** One rune: undefined at EOF; invalid UTF-8 reads as U+FFFD of width 1. */
  readRune(): number | undefined {
    while (this.buffer.length < 4 && !this.fullRune() && !this.eof && this.buffer.length < BUFFER_SIZE) this.fill();
    if (this.buffer.length === 0) return undefined;
    const first = this.buffer[0] ?? 0;
    if (first < 0x80) {
      this.buffer.shift();
      return first;
    }
    const width = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
    const candidate = Uint8Array.from(this.buffer.slice(0, width));
    const text = new TextDecoder("utf-8", { fatal: false }).decode(candidate);
    const rune = text.codePointAt(0) ?? 0xfffd;
    if (width === 1 || rune === 0xfffd || utf8Bytes(String.fromCodePoint(rune)).length !== width) {
      this.buffer.shift();
      return 0xfffd;
    }
    this.buffer.splice(0, width);
    return rune;
  }

  private fullRune(): boolean {
    const first = this.buffer[0];
    if (first === undefined) return false;
    const width = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
    return this.buffer.length >= width;
  }

  /** ReadBytes(delimiter): through the delimiter, or everything left (then `eof` is true). */
  readBytes(delimiter: number): { bytes: number[]; eof: boolean } {
    const out: number[] = [];
    for (;;) {
      const index = this.buffer.indexOf(delimiter);
      if (index >= 0) {
        out.push(...this.buffer.splice(0, index + 1));
        return { bytes: out, eof: false };
      }
      out.push(...this.buffer.splice(0, this.buffer.length));
      if (this.eof) return { bytes: out, eof: true };
      this.fill();
      if (this.eof && this.buffer.length === 0) return { bytes: out, eof: true };
    }
  }
}

/** go-systemd unit.Deserialize: the options, or the error message Ignition wraps as "invalid unit content: …". */
export function parseUnitContents(contents: string): { options: UnitOption[] } | { error: string } {
  const reader = new GoBufferedReader(utf8Bytes(contents));
  const options: UnitOption[] = [];
  const toEol = (): { line: number[]; eof: boolean } => {
    const { bytes, eof } = reader.readBytes(0x0a);
    // Go trims a trailing '\r' first, then the '\n' (so "a\r\n" keeps its '\r').
    let line = bytes;
    if (line.at(-1) === 0x0d) line = line.slice(0, -1);
    if (line.at(-1) === 0x0a) line = line.slice(0, -1);
    return { line, eof };
  };
  const ignoreLine = (): void => {
    for (;;) {
      let { line, eof } = toEol();
      if (line.at(-1) === 0x20) line = line.slice(0, -1);
      if (line.at(-1) !== 0x5c || eof) break;
    }
  };
  type Step = () => Step | undefined;
  let failure: string | undefined;

  const nextSection: Step = () => {
    const rune = reader.readRune();
    if (rune === undefined) return undefined;
    if (rune === 0x5b) return sectionName;
    if (rune === 0x23 || rune === 0x3b) {
      ignoreLine();
      return nextSection;
    }
    return nextSection;
  };
  const sectionName: Step = () => {
    const { bytes, eof } = reader.readBytes(0x5d);
    if (eof) {
      failure = "unable to find end of section";
      return undefined;
    }
    const section = new TextDecoder().decode(Uint8Array.from(bytes.slice(0, -1)));
    const { line } = toEol();
    const garbage = trimSpaceBytes(line);
    if (garbage.length > 0) {
      failure = `found garbage after section name : ${JSON.stringify(new TextDecoder().decode(Uint8Array.from(garbage)))}`;
      return undefined;
    }
    return sectionOrOption(section);
  };
  const sectionOrOption =
    (section: string): Step =>
    () => {
      const rune = reader.readRune();
      if (rune === undefined) return undefined;
      if (isGoSpace(rune)) return sectionOrOption(section);
      if (rune === 0x5b) return sectionName;
      if (rune === 0x23 || rune === 0x3b) {
        ignoreLine();
        return sectionOrOption(section);
      }
      return optionName(section, [...utf8Bytes(String.fromCodePoint(rune))]);
    };
  const optionName =
    (section: string, start: number[]): Step =>
    () => {
      const partial = [...start];
      if (partial.length === 1 && partial[0] === 0x3d) return optionValue(section, "", []);
      for (;;) {
        const rune = reader.readRune();
        if (rune === undefined) {
          failure = "EOF";
          return undefined;
        }
        if (rune === 0x0a || rune === 0x0d) {
          failure = "unexpected newline encountered while parsing option name";
          return undefined;
        }
        if (rune === 0x3d) break;
        partial.push(...utf8Bytes(String.fromCodePoint(rune)));
      }
      const name = new TextDecoder().decode(Uint8Array.from(trimSpaceBytes(partial)));
      return optionValue(section, name, []);
    };
  const optionValue =
    (section: string, name: string, partial: number[]): Step =>
    () => {
      const { line, eof } = toEol();
      let value = [...partial];
      if (trimSpaceBytes(line).length !== 0) {
        value = [...value, ...line];
        if (line.at(-1) === 0x5c) {
          if (!eof) value.push(0x0a);
          return optionValue(section, name, value);
        }
      }
      const text = new TextDecoder().decode(Uint8Array.from(value));
      const trimmed = new TextDecoder().decode(Uint8Array.from(trimSpaceBytes(value)));
      options.push({ section, name, value: text.endsWith("\n") ? `${trimmed}\n` : trimmed });
      return sectionOrOption(section);
    };

  let step: Step | undefined = nextSection;
  while (step) {
    // systemd truncates lines longer than LINE_MAX; go-systemd refuses them instead.
    if (reader.buffered() >= LINE_MAX) {
      const line = reader.peek(LINE_MAX);
      if (!line.includes(0x0a) && !line.includes(0x0d)) return { error: `line too long (max ${LINE_MAX} bytes)` };
    }
    step = step();
    if (failure !== undefined) return { error: failure };
  }
  return { options };
}

// ---------------------------------------------------------------------------------------------- data URLs

const TSPECIAL = new Set(["(", ")", "<", ">", "@", ",", ";", ":", "\\", '"', "/", "[", "]", "?", "="]);

function isTokenChar(char: string): boolean {
  const code = char.charCodeAt(0);
  return char.length === 1 && code > 0x20 && code < 0x7f && !TSPECIAL.has(char);
}

function isUrlChar(char: string): boolean {
  const code = char.charCodeAt(0);
  return char.length === 1 && code > 0x20 && code < 0x7f && !'<>#"{}|\\^[]`'.includes(char);
}

/** vincent-petithory/dataurl's DecodeString: whether the data URL parses and its data decodes. */
export function dataUrlDecodes(url: string): boolean {
  if (!url.startsWith("data:")) return false;
  const rest = url.slice(5);
  const comma = rest.indexOf(",");
  // A comma inside a quoted parameter value cannot end the header; such headers are rare enough to parse simply.
  if (comma < 0) return false;
  const header = rest.slice(0, comma);
  const data = rest.slice(comma + 1);
  let base64 = false;
  const parts = header.split(";");
  const mediaType = parts[0] ?? "";
  if (mediaType !== "") {
    const slash = mediaType.indexOf("/");
    if (slash < 0) return false;
    const type = mediaType.slice(0, slash);
    const subtype = mediaType.slice(slash + 1);
    if (![...type].every(isTokenChar) || ![...subtype].every(isTokenChar) || subtype === "") return false;
    const extension = /^[xX]-/.test(type);
    if (!extension && !/^(text|image|audio|video|application|message|multipart)/.test(type)) return false;
  }
  for (const [index, parameter] of parts.slice(1).entries()) {
    if (parameter === "") return false;
    const equals = parameter.indexOf("=");
    if (equals < 0) {
      if (index !== parts.length - 2 || parameter !== "base64") return false;
      base64 = true;
      continue;
    }
    const attribute = parameter.slice(0, equals);
    const value = parameter.slice(equals + 1);
    if (attribute === "" || ![...attribute].every(isTokenChar) || value === "") return false;
    if (value.startsWith('"')) {
      if (!value.endsWith('"') || value.length < 2) return false;
    } else if (![...value].every(isTokenChar) || !unescapeOk(value, "path")) return false;
  }
  if (base64) {
    if (![...data].every((char) => /[A-Za-z0-9+/=\n]/.test(char))) return false;
    return data === "" || decodeStdBase64(data) !== undefined;
  }
  if (![...data].every(isUrlChar)) return false;
  return unescapeOk(data, "path");
}
