// What each /ztp endpoint answers a matched switch, as verdicts (boot/verdict.ts): the HTTP family turns them into
// responses, and the diagnosis (validate, explain, status) reads the very same verdicts. Pure.
import { canonicalIp, canonicalMac } from "../../api/canonical.ts";
import { objectKey, type SwitchBootConfig } from "../../api/index.ts";
import type { BootIndex } from "../../index/boot-index.ts";
import { namespaceOf } from "../resolve.ts";
import { type Servable, unservable } from "../verdict.ts";
import { CUMULUS_MARKER, PAYLOAD_KEYS, type PayloadKind, type PayloadVerdict, type ZtpPayloadCache, type ZtpTemplate } from "./payload.ts";

/** The endpoints a switch fetches from, by what they serve. */
export type ZtpEndpoint = "onie-installer" | "onie-updater" | "sonic-json" | "sonic-script" | "arista" | "cumulus";

export type SecretPayload = {
  secretName: string;
  secretKey: string;
  dataKey: string;
  kind: PayloadKind;
  template: ZtpTemplate;
  stale?: string;
};

type InstallerVerdict = Servable<{ url: string }>;
type PayloadServable = Servable<SecretPayload>;

export function onieImageServability(config: SwitchBootConfig, endpoint: "onie-installer" | "onie-updater"): InstallerVerdict {
  const url = endpoint === "onie-installer" ? config.spec.onie?.installerURL : config.spec.onie?.updaterURL;
  const field = endpoint === "onie-installer" ? "onie.installerURL" : "onie.updaterURL";
  if (!url) return unservable(404, "NotConfigured", `SwitchBootConfig ${objectKey(config.metadata)} has no ${field}`);
  return { ok: true, url };
}

function fromSecret(
  index: BootIndex,
  cache: ZtpPayloadCache,
  config: SwitchBootConfig,
  secretName: string | undefined,
  kind: Exclude<PayloadKind, "file">,
  field: string,
): PayloadServable {
  const owner = `SwitchBootConfig ${objectKey(config.metadata)}`;
  if (!secretName) return unservable(404, "NotConfigured", `${owner} has no ${field}`);
  const namespace = namespaceOf(config.metadata);
  const entry = index.secret(namespace, secretName);
  if (!entry) return unservable(404, "SecretNotFound", `secret ${namespace}/${secretName} referenced by ${owner} (${field}) does not exist`);
  const dataKey = PAYLOAD_KEYS[kind];
  const verdict: PayloadVerdict = cache.outcomeFor(entry, dataKey, kind);
  if (!verdict.ok) return verdict;
  return {
    ok: true,
    secretName,
    secretKey: entry.key,
    dataKey,
    kind,
    template: verdict.template,
    ...(verdict.stale === undefined ? {} : { stale: verdict.stale }),
  };
}

/** The Secret payload of a text endpoint: SONiC's JSON or script, EOS's script or startup-config, Cumulus's script. */
export function switchPayloadServability(
  index: BootIndex,
  cache: ZtpPayloadCache,
  config: SwitchBootConfig,
  endpoint: Exclude<ZtpEndpoint, "onie-installer" | "onie-updater">,
): PayloadServable {
  const spec = config.spec;
  switch (endpoint) {
    case "sonic-json":
      return fromSecret(index, cache, config, spec.sonic?.ztpJSONSecretRef?.name, "ztp-json", "sonic.ztpJSONSecretRef");
    case "sonic-script":
      return fromSecret(index, cache, config, spec.provisioningScriptSecretRef?.name, "script", "provisioningScriptSecretRef");
    case "arista":
      // A startup-config, when given, is what EOS gets "instead of a script".
      return spec.startupConfigSecretRef
        ? fromSecret(index, cache, config, spec.startupConfigSecretRef.name, "startup-config", "startupConfigSecretRef")
        : fromSecret(index, cache, config, spec.provisioningScriptSecretRef?.name, "script", "provisioningScriptSecretRef");
    case "cumulus": {
      const script = fromSecret(index, cache, config, spec.provisioningScriptSecretRef?.name, "script", "provisioningScriptSecretRef");
      if (script.ok && !script.template.source.includes(CUMULUS_MARKER)) {
        return unservable(
          500,
          "ProvisioningScriptInvalid",
          `script in secret ${script.secretKey} has no ${CUMULUS_MARKER} line: Cumulus Linux refuses to run it`,
        );
      }
      return script;
    }
  }
}

interface SwitchDiagnosisParts {
  problems: { reason: Exclude<ReturnType<typeof unservable>["reason"], "NotConfigured">; message: string }[];
  warnings: string[];
}

/** Problems and warnings of a switch config, from the same verdicts its endpoints answer with (conflicts are added by the caller). */
export function switchDiagnosisParts(index: BootIndex, cache: ZtpPayloadCache, config: SwitchBootConfig): SwitchDiagnosisParts {
  const problems: SwitchDiagnosisParts["problems"] = [];
  const warnings: string[] = [];
  const add = (verdict: PayloadServable): void => {
    if (!verdict.ok) {
      if (verdict.reason !== "NotConfigured") problems.push({ reason: verdict.reason, message: verdict.message });
    } else if (verdict.stale !== undefined) problems.push({ reason: "ZTPPayloadInvalid", message: `${verdict.stale} (still serving the last valid version)` });
  };
  add(switchPayloadServability(index, cache, config, "sonic-json"));
  add(switchPayloadServability(index, cache, config, "sonic-script"));
  if (config.spec.startupConfigSecretRef) add(switchPayloadServability(index, cache, config, "arista"));
  // The Cumulus marker is checked when /ztp/cumulus answers (500 with the reason): one script may serve SONiC or
  // EOS switches, which need no marker, so its absence is no problem of the config.
  for (const entry of config.spec.macAddresses ?? []) {
    if (canonicalMac(entry) === null) warnings.push(`macAddresses entry ${JSON.stringify(entry)} is not a MAC address; it never matches and is ignored`);
  }
  for (const entry of config.spec.systemIPs ?? []) {
    if (canonicalIp(entry) === null) warnings.push(`systemIPs entry ${JSON.stringify(entry)} is not an IP address; it never matches and is ignored`);
  }
  return { problems, warnings };
}
