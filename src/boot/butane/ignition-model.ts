/**
 * The Ignition 3.x config model as Butane's Go types see it: per spec version, each type's fields in Go
 * struct order (Ignition's generated `config/v3_N/types/schema.go`), which fields are Go primitives
 * (non-pointers) and which are always emitted. Serialisation follows the JSON encoder Butane uses
 * (clarketm/json): `omitempty` also drops structs whose fields are all empty, HTML characters are escaped.
 */
import type { PathSegment } from "./diagnostics.ts";

export type IgnValue = string | number | boolean | IgnObject | IgnValue[];
export interface IgnObject {
  [field: string]: IgnValue | undefined;
}

/** Where each generated object came from in the YAML, for mapping validation errors back to lines. */
export const yamlOrigin = new WeakMap<object, readonly PathSegment[]>();

export function withOrigin<T extends object>(value: T, path: readonly PathSegment[]): T {
  yamlOrigin.set(value, path);
  return value;
}

type Scalar = "string" | "int" | "bool";

export type IgnField =
  | {
      name: string;
      kind: Scalar;
      /** Go non-pointer: merging takes the child's value; empty means zero value. */
      primitive?: boolean;
      /** No `omitempty`: always emitted (zero value, or null for a nil pointer). */
      always?: boolean;
    }
  | { name: string; kind: "object"; type: IgnTypeName; always?: boolean }
  | {
      name: string;
      kind: "list";
      item: Scalar | IgnTypeName;
      /** No `omitempty` (emitted as null when absent). */
      always?: boolean;
      /** Lists merged by concatenation and never checked for duplicates (Ignition's IgnoreDuplicates). */
      concatenate?: boolean;
      /** Lists sharing a key space when merging and checking duplicates (Ignition's MergedKeys). */
      keyGroup?: string;
    };

export type IgnTypeName =
  | "Config"
  | "Ignition"
  | "IgnitionConfig"
  | "ConfigResource"
  | "CaResource"
  | "FileResource"
  | "Verification"
  | "HTTPHeader"
  | "Proxy"
  | "Security"
  | "TLS"
  | "Timeouts"
  | "KernelArguments"
  | "Passwd"
  | "PasswdGroup"
  | "PasswdUser"
  | "Storage"
  | "Directory"
  | "Disk"
  | "Partition"
  | "File"
  | "Filesystem"
  | "Link"
  | "Luks"
  | "Cex"
  | "Clevis"
  | "ClevisCustom"
  | "Tang"
  | "Raid"
  | "NodeOwner"
  | "Systemd"
  | "Unit"
  | "Dropin";

interface IgnType {
  fields: IgnField[];
  /** Ignition's Key(): identity used for merging and duplicate detection in lists. */
  key?: (value: IgnObject) => string;
}

export type IgnSchema = Readonly<Record<IgnTypeName, IgnType>>;

const s = (name: string, extra: { primitive?: boolean; always?: boolean } = {}): IgnField => ({
  name,
  kind: "string",
  ...extra,
});
const i = (name: string, extra: { primitive?: boolean; always?: boolean } = {}): IgnField => ({ name, kind: "int", ...extra });
const b = (name: string): IgnField => ({ name, kind: "bool" });
const o = (name: string, type: IgnTypeName, always = false): IgnField => ({ name, kind: "object", type, always });
const l = (name: string, item: Scalar | IgnTypeName, extra: { always?: boolean; concatenate?: boolean; keyGroup?: string } = {}): IgnField => ({
  name,
  kind: "list",
  item,
  ...extra,
});

const keyOf =
  (field: string) =>
  (value: IgnObject): string => {
    const key = value[field];
    return typeof key === "string" ? key : "";
  };

function when<T>(condition: boolean, ...items: T[]): T[] {
  return condition ? items : [];
}

const schemaCache = new Map<number, IgnSchema>();

/** The Ignition 3.`minor`.0 Go types relevant to Butane output. */
export function ignitionSchema(minor: number): IgnSchema {
  const cached = schemaCache.get(minor);
  if (cached) return cached;

  // Ignition 3.0 had distinct reference types: configs need `source` (nullable), CAs a plain string source.
  const resource: IgnField[] = [s("compression"), l("httpHeaders", "HTTPHeader"), s("source"), o("verification", "Verification")];
  const schema: IgnSchema = {
    Config: {
      fields: [
        o("ignition", "Ignition", true),
        ...when(minor >= 3, o("kernelArguments", "KernelArguments")),
        o("passwd", "Passwd"),
        o("storage", "Storage"),
        o("systemd", "Systemd"),
      ],
    },
    Ignition: {
      fields: [
        o("config", "IgnitionConfig"),
        ...when(minor >= 1, o("proxy", "Proxy")),
        o("security", "Security"),
        o("timeouts", "Timeouts"),
        s("version", { primitive: true, always: true }),
      ],
    },
    IgnitionConfig: { fields: [l("merge", "ConfigResource"), o("replace", "ConfigResource")] },
    ConfigResource: {
      fields: minor === 0 ? [s("source", { always: true }), o("verification", "Verification")] : resource,
      key: keyOf("source"),
    },
    CaResource: {
      fields: minor === 0 ? [s("source", { primitive: true, always: true }), o("verification", "Verification")] : resource,
      key: keyOf("source"),
    },
    FileResource: {
      fields: minor === 0 ? [s("compression"), s("source"), o("verification", "Verification")] : resource,
      key: keyOf("source"),
    },
    Verification: { fields: [s("hash")] },
    HTTPHeader: { fields: [s("name", { primitive: true, always: true }), s("value")], key: keyOf("name") },
    Proxy: { fields: [s("httpProxy"), s("httpsProxy"), l("noProxy", "string")] },
    Security: { fields: [o("tls", "TLS")] },
    TLS: { fields: [l("certificateAuthorities", "CaResource")] },
    Timeouts: { fields: [i("httpResponseHeaders"), i("httpTotal")] },
    KernelArguments: {
      fields: [l("shouldExist", "string", { keyGroup: "KernelArgument" }), l("shouldNotExist", "string", { keyGroup: "KernelArgument" })],
    },
    Passwd: { fields: [l("groups", "PasswdGroup"), l("users", "PasswdUser")] },
    PasswdGroup: {
      fields: [i("gid"), s("name", { primitive: true, always: true }), s("passwordHash"), ...when(minor >= 2, b("shouldExist")), b("system")],
      key: keyOf("name"),
    },
    PasswdUser: {
      fields: [
        s("gecos"),
        l("groups", "string"),
        s("homeDir"),
        s("name", { primitive: true, always: true }),
        b("noCreateHome"),
        b("noLogInit"),
        b("noUserGroup"),
        s("passwordHash"),
        s("primaryGroup"),
        l("sshAuthorizedKeys", "string"),
        s("shell"),
        ...when(minor >= 2, b("shouldExist")),
        b("system"),
        i("uid"),
      ],
      key: keyOf("name"),
    },
    Storage: {
      fields: [
        l("directories", "Directory", { keyGroup: "Node" }),
        l("disks", "Disk"),
        l("files", "File", { keyGroup: "Node" }),
        l("filesystems", "Filesystem"),
        l("links", "Link", { keyGroup: "Node" }),
        ...when(minor >= 2, l("luks", "Luks")),
        l("raid", "Raid"),
      ],
    },
    Directory: {
      fields: [o("group", "NodeOwner"), b("overwrite"), s("path", { primitive: true, always: true }), o("user", "NodeOwner"), i("mode")],
      key: keyOf("path"),
    },
    Disk: {
      fields: [s("device", { primitive: true, always: true }), l("partitions", "Partition"), b("wipeTable")],
      key: keyOf("device"),
    },
    Partition: {
      fields: [
        s("guid"),
        s("label"),
        i("number", { primitive: true }),
        ...when(minor >= 2, b("resize")),
        b("shouldExist"),
        i("sizeMiB"),
        i("startMiB"),
        s("typeGuid"),
        b("wipePartitionEntry"),
      ],
      key: (value) => {
        const number = value.number;
        if (typeof number === "number" && number !== 0) return `number:${number}`;
        const label = value.label;
        return typeof label === "string" ? `label:${label}` : "";
      },
    },
    File: {
      fields: [
        o("group", "NodeOwner"),
        b("overwrite"),
        s("path", { primitive: true, always: true }),
        o("user", "NodeOwner"),
        l("append", "FileResource", { concatenate: true }),
        o("contents", "FileResource"),
        i("mode"),
      ],
      key: keyOf("path"),
    },
    Filesystem: {
      fields: [
        s("device", { primitive: true, always: true }),
        s("format"),
        s("label"),
        ...when(minor >= 1, l("mountOptions", "string", { concatenate: true })),
        l("options", "string", { concatenate: true }),
        s("path"),
        s("uuid"),
        b("wipeFilesystem"),
      ],
      key: keyOf("device"),
    },
    Link: {
      fields: [
        o("group", "NodeOwner"),
        b("overwrite"),
        s("path", { primitive: true, always: true }),
        o("user", "NodeOwner"),
        b("hard"),
        minor >= 3 ? s("target") : s("target", { primitive: true, always: true }),
      ],
      key: keyOf("path"),
    },
    Luks: {
      fields: [
        ...when(minor >= 5, o("cex", "Cex")),
        o("clevis", "Clevis"),
        s("device"),
        ...when(minor >= 4, b("discard")),
        o("keyFile", "FileResource"),
        s("label"),
        s("name", { primitive: true, always: true }),
        ...when(minor >= 4, l("openOptions", "string")),
        l("options", "string", { concatenate: true }),
        s("uuid"),
        b("wipeVolume"),
      ],
      key: keyOf("name"),
    },
    Cex: { fields: [b("enabled")] },
    Clevis: { fields: [o("custom", "ClevisCustom"), l("tang", "Tang"), i("threshold"), b("tpm2")] },
    ClevisCustom: {
      fields:
        minor >= 3
          ? [s("config"), b("needsNetwork"), s("pin")]
          : [s("config", { primitive: true, always: true }), b("needsNetwork"), s("pin", { primitive: true, always: true })],
    },
    Tang: {
      fields: minor >= 4 ? [s("advertisement"), s("thumbprint"), s("url", { primitive: true })] : [s("thumbprint"), s("url", { primitive: true })],
      key: keyOf("url"),
    },
    Raid: {
      fields:
        minor >= 3
          ? [l("devices", "string"), s("level"), s("name", { primitive: true, always: true }), l("options", "string", { concatenate: true }), i("spares")]
          : [
              l("devices", "string", { always: true }),
              s("level", { primitive: true, always: true }),
              s("name", { primitive: true, always: true }),
              l("options", "string", { concatenate: true }),
              i("spares"),
            ],
      key: keyOf("name"),
    },
    NodeOwner: { fields: [i("id"), s("name")] },
    Systemd: { fields: [l("units", "Unit")] },
    Unit: {
      fields: [s("contents"), l("dropins", "Dropin"), b("enabled"), b("mask"), s("name", { primitive: true, always: true })],
      key: keyOf("name"),
    },
    Dropin: { fields: [s("contents"), s("name", { primitive: true, always: true })], key: keyOf("name") },
  };
  schemaCache.set(minor, schema);
  return schema;
}

function isObject(value: IgnValue | undefined): value is IgnObject {
  return typeof value === "object" && !Array.isArray(value);
}

/** clarketm/json's isEmptyValue for a field of the given kind. */
function isEmptyField(field: IgnField, value: IgnValue | undefined, schema: IgnSchema): boolean {
  if (value === undefined) return true;
  switch (field.kind) {
    case "list":
      return !Array.isArray(value) || value.length === 0;
    case "object":
      return !isObject(value) || isEmptyObject(value, field.type, schema);
    default:
      // Pointers are empty only when nil; Go primitives when they hold the zero value.
      if (!field.primitive) return false;
      return value === "" || value === 0 || value === false;
  }
}

export function isEmptyObject(value: IgnObject, type: IgnTypeName, schema: IgnSchema): boolean {
  return schema[type].fields.every((field) => isEmptyField(field, value[field.name], schema));
}

/** Go's encoding/json string escaping with HTML escaping on (what json.Marshal does; invalid UTF-8 becomes \ufffd). */
export function encodeGoString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    switch (char) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "<":
      case ">":
      case "&":
      case "\u2028":
      case "\u2029":
        out += `\\u${code.toString(16).padStart(4, "0")}`;
        continue;
    }
    if (code < 0x20) {
      out += `\\u${code.toString(16).padStart(4, "0")}`;
      continue;
    }
    // A lone surrogate is a byte that is not UTF-8 (see encoding.ts): Go's encoder writes it as \ufffd.
    if (code >= 0xd800 && code <= 0xdfff) {
      out += "\\ufffd";
      continue;
    }
    out += char;
  }
  return `${out}"`;
}

const ZERO_VALUES: Readonly<Record<Scalar, IgnValue>> = { string: "", int: 0, bool: false };

function encodeScalar(kind: Scalar, value: IgnValue | undefined): string {
  if (value === undefined) return "null";
  if (kind === "string") return encodeGoString(typeof value === "string" ? value : String(value));
  if (kind === "int") return String(typeof value === "number" ? Math.trunc(value) : 0);
  return value === true ? "true" : "false";
}

export function encodeObject(value: IgnObject, type: IgnTypeName, schema: IgnSchema): string {
  const parts: string[] = [];
  for (const field of schema[type].fields) {
    const fieldValue = value[field.name];
    if (!field.always && isEmptyField(field, fieldValue, schema)) continue;
    parts.push(`${encodeGoString(field.name)}:${encodeField(field, fieldValue, schema)}`);
  }
  return `{${parts.join(",")}}`;
}

function encodeField(field: IgnField, value: IgnValue | undefined, schema: IgnSchema): string {
  switch (field.kind) {
    case "object":
      return encodeObject(isObject(value) ? value : {}, field.type, schema);
    case "list": {
      if (!Array.isArray(value)) return "null";
      const item = field.item;
      const encoded = value.map((entry) => (isScalarItem(item) ? encodeScalar(item, entry) : encodeObject(isObject(entry) ? entry : {}, item, schema)));
      return `[${encoded.join(",")}]`;
    }
    default:
      // A Go primitive prints its zero value; a nil pointer without omitempty prints null.
      if (value === undefined && field.primitive) return encodeScalar(field.kind, ZERO_VALUES[field.kind]);
      return encodeScalar(field.kind, value);
  }
}

function isScalarItem(itemType: Scalar | IgnTypeName): itemType is Scalar {
  return itemType === "string" || itemType === "int" || itemType === "bool";
}

function itemKey(item: IgnValue, itemType: Scalar | IgnTypeName, schema: IgnSchema): string {
  if (isScalarItem(itemType)) return String(item);
  const keyFunction = schema[itemType].key;
  return keyFunction && isObject(item) ? keyFunction(item) : "";
}

/**
 * Ignition's config merge (config/merge): the child overrides the parent field by field; keyed lists
 * merge entries with equal keys in place, keep the parent's order and append the child's new entries.
 * Butane renders its sugar (mount units, boot_device, grub) as a parent config merged under the user's.
 */
export function mergeObjects(parent: IgnObject, child: IgnObject, type: IgnTypeName, schema: IgnSchema): IgnObject {
  const result: IgnObject = {};
  const origin = yamlOrigin.get(child) ?? yamlOrigin.get(parent);
  if (origin) yamlOrigin.set(result, origin);
  const typeSpec = schema[type];

  // Child entries of lists that share a key space, for "same key in another list" handling.
  const childKeysByGroup = new Map<string, Map<string, string>>();
  for (const field of typeSpec.fields) {
    if (field.kind !== "list" || field.concatenate) continue;
    const group = field.keyGroup ?? field.name;
    const keys = childKeysByGroup.get(group) ?? new Map<string, string>();
    const childList = child[field.name];
    if (Array.isArray(childList)) for (const item of childList) keys.set(itemKey(item, field.item, schema), field.name);
    childKeysByGroup.set(group, keys);
  }

  for (const field of typeSpec.fields) {
    const parentValue = parent[field.name];
    const childValue = child[field.name];
    switch (field.kind) {
      case "object": {
        const merged = mergeObjects(isObject(parentValue) ? parentValue : {}, isObject(childValue) ? childValue : {}, field.type, schema);
        if (!isEmptyObject(merged, field.type, schema)) result[field.name] = merged;
        break;
      }
      case "list": {
        const parentList = Array.isArray(parentValue) ? parentValue : [];
        const childList = Array.isArray(childValue) ? childValue : [];
        if (parentList.length + childList.length === 0) {
          if (childValue !== undefined) result[field.name] = childValue;
          break;
        }
        if (field.concatenate) {
          result[field.name] = [...parentList, ...childList];
          break;
        }
        const group = field.keyGroup ?? field.name;
        const childKeys = childKeysByGroup.get(group) ?? new Map<string, string>();
        const merged: IgnValue[] = [];
        const parentKeys = new Set<string>();
        for (const parentItem of parentList) {
          const key = itemKey(parentItem, field.item, schema);
          parentKeys.add(key);
          const childListName = childKeys.get(key);
          if (childListName === undefined) {
            merged.push(parentItem);
            continue;
          }
          // Same key in a sibling list of the child (files/links/directories): the child's entry replaces it there.
          if (childListName !== field.name) continue;
          // Ignition looks up the child's last entry with this key.
          const childItem = [...childList].reverse().find((candidate) => itemKey(candidate, field.item, schema) === key);
          if (childItem === undefined) continue;
          const itemType = field.item;
          if (isScalarItem(itemType) || !isObject(childItem)) {
            merged.push(childItem);
          } else if (!(itemType === "HTTPHeader" && childItem.value === undefined)) {
            // (A child HTTP header without value removes the parent's header.)
            merged.push(mergeObjects(isObject(parentItem) ? parentItem : {}, childItem, itemType, schema));
          }
        }
        for (const childItem of childList) {
          if (!parentKeys.has(itemKey(childItem, field.item, schema))) merged.push(childItem);
        }
        result[field.name] = merged;
        break;
      }
      default:
        if (field.primitive) {
          if (childValue !== undefined) result[field.name] = childValue;
        } else {
          const chosen = childValue !== undefined ? childValue : parentValue;
          if (chosen !== undefined) result[field.name] = chosen;
        }
    }
  }
  return result;
}
