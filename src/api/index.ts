// One parse entry point for every resource kind we read, so sources (files or API server) report problems alike.
import * as v from "valibot";
import { HTTP_BOOT_CONFIG_KIND, type HTTPBootConfig, httpBootConfig } from "./httpbootconfig.ts";
import { IPXE_BOOT_CONFIG_KIND, type IPXEBootConfig, ipxeBootConfig } from "./ipxebootconfig.ts";
import { GROUP_VERSION } from "./meta.ts";
import { SECRET_KIND, type Secret, secret } from "./secret.ts";
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
    return { ok: true, resource: { kind, object: parsed.output } as ConfigResource };
  }
  switch (kind) {
    case SECRET_KIND: {
      const parsed = v.safeParse(secret, document);
      if (!parsed.success) return { ok: false, problems: problemsFrom(parsed.issues) };
      return { ok: true, resource: { kind, object: parsed.output } };
    }
    case undefined:
      return { ok: false, problems: [{ path: "kind", message: "missing kind" }] };
    default:
      return { ok: false, problems: [{ path: "kind", message: `kind ${kind} is not a boot resource` }], ignored: true };
  }
}
