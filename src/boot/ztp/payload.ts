// The Secret contents a switch gets (SONiC ZTP JSON, provisioning script, EOS startup-config, files the JSON names)
// are templates in the iPXE template language (boot/ipxe-template.ts) over the switch's facts. Each Secret version
// is parsed and checked once; a version that fails its checks does not replace the last good one this process
// parsed for the same Secret key: switches keep getting the last good answer while the status says what is wrong.
import { SECRET_KEY_SCRIPT, SECRET_KEY_STARTUP_CONFIG, SECRET_KEY_ZTP_JSON, type SwitchBootConfig } from "../../api/index.ts";
import type { BootIndex, SecretEntry } from "../../index/boot-index.ts";
import { parseTemplate, renderTemplate, type Template } from "../ipxe-template.ts";
import { namespaceOf } from "../resolve.ts";
import { type Servable, unservable } from "../verdict.ts";
import type { SwitchClaim } from "./identify.ts";
import { validateSonicZtpJson } from "./sonic-json.ts";

const ZTP_TEMPLATE_FIELDS = [
  "SerialNumber",
  "MAC",
  "Hostname",
  "PublicURL",
  /** PublicURL + /ztp/files/<namespace>/<secret>: where the other keys of the payload's own Secret are served. */
  "FilesURL",
  "ConfigName",
  "ConfigNamespace",
  /** As the switch reported them (made safe: identify.ts safeReported). */
  "Model",
  "Version",
  "Protocol",
  /** The address the request came from (or a trusted proxy forwarded). */
  "IP",
] as const;
type ZtpTemplateField = (typeof ZTP_TEMPLATE_FIELDS)[number];
type ZtpTemplateData = Record<ZtpTemplateField, string>;
export type ZtpTemplate = Template<ZtpTemplateField>;

/** How a Secret value is checked and rendered. */
export type PayloadKind = "ztp-json" | "script" | "startup-config" | "file";

export const PAYLOAD_KEYS: Record<Exclude<PayloadKind, "file">, string> = {
  "ztp-json": SECRET_KEY_ZTP_JSON,
  script: SECRET_KEY_SCRIPT,
  "startup-config": SECRET_KEY_STARTUP_CONFIG,
};

export const CUMULUS_MARKER = "CUMULUS-AUTOPROVISIONING";

/** The switch's facts: the config's own first, what the request reported where the config says nothing. */
export function switchTemplateData(
  config: SwitchBootConfig,
  options: { claim?: SwitchClaim; publicUrl: string; secretName: string; sourceIp?: string },
): ZtpTemplateData {
  const namespace = namespaceOf(config.metadata);
  const claim = options.claim;
  return {
    SerialNumber: config.spec.serialNumber?.trim() || claim?.serial || "",
    MAC: claim?.macs[0] ?? config.spec.macAddresses?.[0] ?? "",
    Hostname: config.spec.hostname ?? config.metadata.name,
    PublicURL: options.publicUrl,
    FilesURL: `${options.publicUrl}/ztp/files/${namespace}/${options.secretName}`,
    ConfigName: config.metadata.name,
    ConfigNamespace: namespace,
    Model: claim?.model ?? "",
    Version: claim?.version ?? "",
    Protocol: claim?.protocol ?? "",
    IP: options.sourceIp ?? "",
  };
}

/** Field values rendered into JSON are string-escaped, so no fact can break the document's structure. */
function forJson(data: ZtpTemplateData): ZtpTemplateData {
  const escaped = { ...data };
  for (const field of ZTP_TEMPLATE_FIELDS) escaped[field] = JSON.stringify(data[field]).slice(1, -1);
  return escaped;
}

export function renderPayload(template: ZtpTemplate, kind: PayloadKind, data: ZtpTemplateData): string {
  return renderTemplate(template, kind === "ztp-json" ? forJson(data) : data);
}

/** Placeholder facts for checking a template's output before any switch asks (URLs stay URLs). */
const SAMPLE_DATA: ZtpTemplateData = {
  ...(Object.fromEntries(ZTP_TEMPLATE_FIELDS.map((field) => [field, "sample"])) as ZtpTemplateData),
  PublicURL: "http://appliance.invalid",
  FilesURL: "http://appliance.invalid/ztp/files/namespace/secret",
};

type PayloadOutcome = Servable<{ template: ZtpTemplate }>;

/** Parses and checks one Secret value; pure. */
export function parsePayload(source: string, kind: PayloadKind, where: string): PayloadOutcome {
  let template: ZtpTemplate;
  try {
    template = parseTemplate(source, ZTP_TEMPLATE_FIELDS);
  } catch (error) {
    // A file that is no template (a binary, someone else's {{…}}) is served as it is.
    if (kind === "file") return { ok: true, template: { source, nodes: [{ type: "text", text: source }] } };
    return unservable(500, "ZTPTemplateInvalid", `${where}: ${(error as Error).message}`);
  }
  if (kind === "ztp-json") {
    const problems = validateSonicZtpJson(renderPayload(template, kind, SAMPLE_DATA));
    if (problems.length > 0) {
      return unservable(500, "ZTPJSONInvalid", `${where}: ${problems.map((problem) => `${problem.path} ${problem.message}`).join("; ")}`);
    }
  }
  // SONiC, EOS and Cumulus execute the script; EOS takes anything not starting with #! as startup-config.
  if (kind === "script" && !source.startsWith("#!")) {
    return unservable(500, "ProvisioningScriptInvalid", `${where}: a provisioning script must start with #! (EOS would take it for a startup-config)`);
  }
  if (kind === "startup-config" && source.startsWith("#!")) {
    return unservable(500, "StartupConfigInvalid", `${where}: a startup-config must not start with #! (EOS would execute it as a script)`);
  }
  return { ok: true, template };
}

interface CachedPayload {
  source: string;
  outcome: PayloadOutcome;
}

/** A payload verdict; `stale` says why the served template is an older version than the Secret's. */
export type PayloadVerdict = Servable<{ template: ZtpTemplate; stale?: string }>;

export class ZtpPayloadCache {
  private readonly current = new Map<string, CachedPayload>();
  private readonly lastGood = new Map<string, CachedPayload>();

  /** The verdict for one value of one Secret version (`dataKey` absent: 404 SecretKeyMissing). */
  outcomeFor(entry: SecretEntry, dataKey: string, kind: PayloadKind): PayloadVerdict {
    const source = entry.values.get(dataKey);
    if (source === undefined) return unservable(404, "SecretKeyMissing", `secret ${entry.key} has no key "${dataKey}"`);
    const id = `${entry.key}\u0000${dataKey}\u0000${kind}`;
    let cached = this.current.get(id);
    if (!cached || cached.source !== source) {
      cached = { source, outcome: parsePayload(source, kind, `${dataKey} in secret ${entry.key}`) };
      this.current.set(id, cached);
      if (cached.outcome.ok) this.lastGood.set(id, cached);
    }
    if (cached.outcome.ok) return cached.outcome;
    const good = this.lastGood.get(id);
    if (good?.outcome.ok) return { ok: true, template: good.outcome.template, stale: cached.outcome.message };
    return cached.outcome;
  }

  /** Parses every payload the index's switches reference (so a later broken version has a last good one), drops the rest. */
  refresh(index: BootIndex): void {
    const live = new Set<string>();
    for (const config of index.switchBootConfigs) {
      const namespace = namespaceOf(config.metadata);
      const refs: [string | undefined, PayloadKind][] = [
        [config.spec.sonic?.ztpJSONSecretRef?.name, "ztp-json"],
        [config.spec.provisioningScriptSecretRef?.name, "script"],
        [config.spec.startupConfigSecretRef?.name, "startup-config"],
      ];
      for (const [name, kind] of refs) {
        const entry = name ? index.secret(namespace, name) : undefined;
        if (!entry) continue;
        live.add(entry.key);
        if (kind !== "file") this.outcomeFor(entry, PAYLOAD_KEYS[kind], kind);
      }
    }
    for (const map of [this.current, this.lastGood]) {
      for (const id of map.keys()) if (!live.has(id.split("\u0000", 1)[0] ?? "")) map.delete(id);
    }
  }
}
