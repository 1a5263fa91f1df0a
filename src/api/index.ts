// One parse entry point for every resource kind we read, so sources (files or API server) report problems alike.
import * as v from "valibot";
import { HTTP_BOOT_CONFIG_KIND, type HTTPBootConfig, httpBootConfig } from "./httpbootconfig.ts";
import { IPXE_BOOT_CONFIG_KIND, type IPXEBootConfig, ipxeBootConfig } from "./ipxebootconfig.ts";
import { GROUP_VERSION } from "./meta.ts";
import { SECRET_KEY_FORMAT, SECRET_KIND, type Secret, secret } from "./secret.ts";
import { sharedValue } from "./shared-values.ts";
import { SWITCH_BOOT_CONFIG_KIND, type SwitchBootConfig, switchBootConfig } from "./switchbootconfig.ts";

export * from "./formats.ts";
export * from "./httpbootconfig.ts";
export * from "./ipxebootconfig.ts";
export * from "./meta.ts";
export * from "./secret.ts";
export * from "./switchbootconfig.ts";

/** The boot.ironcore.dev kinds and their schemas: the one list parseBootResource (and so every source) reads. */
interface ConfigObjects {
  IPXEBootConfig: IPXEBootConfig;
  HTTPBootConfig: HTTPBootConfig;
  SwitchBootConfig: SwitchBootConfig;
}
type ConfigKindName = keyof ConfigObjects;
const CONFIG_SCHEMAS: { [K in ConfigKindName]: v.GenericSchema<unknown, ConfigObjects[K]> } = {
  [IPXE_BOOT_CONFIG_KIND]: ipxeBootConfig,
  [HTTP_BOOT_CONFIG_KIND]: httpBootConfig,
  [SWITCH_BOOT_CONFIG_KIND]: switchBootConfig,
};

function isConfigKind(kind: string): kind is ConfigKindName {
  return Object.hasOwn(CONFIG_SCHEMAS, kind);
}

type ConfigResource = { [K in ConfigKindName]: { kind: K; object: ConfigObjects[K] } }[ConfigKindName];
export type BootResource = ConfigResource | { kind: "Secret"; object: Secret };

export interface SchemaProblem {
  /** Dotted path inside the object, e.g. "spec.networkIdentifiers.2". */
  path: string;
  message: string;
}

type ParseResult = { ok: true; resource: BootResource } | { ok: false; problems: SchemaProblem[]; ignored?: boolean };

function problemsFrom(issues: readonly v.BaseIssue<unknown>[]): SchemaProblem[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue) ?? "";
    // valibot reports an unknown key of a strict object with the key in its path and "never" as expectation.
    const message = issue.expected === "never" ? "unknown field" : issue.message;
    return { path, message };
  });
}

/** Identity of a document that may be invalid, for reports and for keeping its last good version. */
export function describeDocument(document: unknown): { kind?: string; namespace?: string; name?: string } {
  if (typeof document !== "object" || document === null) return {};
  const record = document as Record<string, unknown>;
  const meta = typeof record.metadata === "object" && record.metadata !== null ? (record.metadata as Record<string, unknown>) : {};
  return {
    ...(typeof record.kind === "string" ? { kind: record.kind } : {}),
    ...(typeof meta.namespace === "string" ? { namespace: meta.namespace } : {}),
    ...(typeof meta.name === "string" ? { name: meta.name } : {}),
  };
}

/**
 * Validates one decoded document. Kinds other than ours (a ConfigMap in the same directory, say) are reported as
 * `ignored` rather than as errors, so users can keep related manifests side by side.
 */
export function parseBootResource(document: unknown): ParseResult {
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    return { ok: false, problems: [{ path: "", message: "document is not a mapping (expected apiVersion/kind/metadata/spec)" }] };
  }
  const { kind } = describeDocument(document);
  const apiVersion = (document as Record<string, unknown>).apiVersion;
  if (kind !== undefined && isConfigKind(kind)) {
    if (apiVersion !== GROUP_VERSION) {
      return { ok: false, problems: [{ path: "apiVersion", message: `must be ${GROUP_VERSION} for kind ${kind}` }] };
    }
    const parsed = v.safeParse(CONFIG_SCHEMAS[kind], document);
    if (!parsed.success) return { ok: false, problems: problemsFrom(parsed.issues) };
    // The schema of `kind` produced this object, so the pair is one member of ConfigResource.
    return { ok: true, resource: shareRepeatedValues({ kind, object: parsed.output } as ConfigResource) };
  }
  switch (kind) {
    case SECRET_KIND: {
      const parsed = v.safeParse(secret, document);
      if (!parsed.success) return { ok: false, problems: problemsFrom(parsed.issues) };
      return { ok: true, resource: shareRepeatedValues({ kind, object: parsed.output }) };
    }
    case undefined:
      return { ok: false, problems: [{ path: "kind", message: "missing kind" }] };
    default:
      return { ok: false, problems: [{ path: "kind", message: `kind ${kind} is not a boot resource` }], ignored: true };
  }
}

const KIND_CONSTANTS: Record<BootResource["kind"], BootResource["kind"]> = {
  IPXEBootConfig: IPXE_BOOT_CONFIG_KIND,
  HTTPBootConfig: HTTP_BOOT_CONFIG_KIND,
  SwitchBootConfig: SWITCH_BOOT_CONFIG_KIND,
  Secret: SECRET_KIND,
};

/**
 * The fields whose values repeat across a fleet point at one shared string each (apiVersion and kind at the
 * constants they were checked against). With the copy-on-write firstSeen in the directory source, the live heap
 * after a full GC at 10 000 machines went from 93.7 to 83.1 MiB, and idle RSS from 189 to 176 MiB.
 */
function shareRepeatedValues<R extends BootResource>(resource: R): R {
  const { object } = resource;
  // The document's own strings were checked equal to these constants.
  resource.kind = KIND_CONSTANTS[resource.kind] as never;
  object.kind = resource.kind as never;
  object.apiVersion = (resource.kind === SECRET_KIND ? "v1" : GROUP_VERSION) as never;
  shareFields(object.metadata, ["namespace"]);
  switch (resource.kind) {
    case "IPXEBootConfig": {
      shareFields(resource.object.spec, ["kernelURL", "initrdURL", "squashfsURL"]);
      break;
    }
    case "HTTPBootConfig":
      shareFields(resource.object.spec, ["ukiURL"]);
      break;
    case "Secret": {
      shareFields(resource.object, ["type"]);
      if (resource.object.stringData) shareFields(resource.object.stringData, [SECRET_KEY_FORMAT]);
      if (resource.object.data) shareFields(resource.object.data, [SECRET_KEY_FORMAT]);
      break;
    }
  }
  return resource;
}

/** Only fields that are there: an absent one stays absent (`"key" in spec` is read elsewhere). */
function shareFields<T extends object>(record: T, keys: readonly (keyof T & string)[]): void {
  const fields = record as Record<string, unknown>;
  for (const key of keys) {
    const value = fields[key];
    if (typeof value === "string") fields[key] = sharedValue(value);
  }
}
