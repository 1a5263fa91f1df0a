// SwitchBootConfig: what a network switch gets when it provisions itself (ONIE, SONiC ZTP, Arista EOS ZTP, Cumulus
// ZTP). Identity follows the server kinds (identifiers are matched canonically; entries that are no address are
// ignored with a warning), and the payloads are Secrets, like ignitionSecretRef / ipxeScriptSecretRef.
import * as v from "valibot";
import { localObjectReference, openapi, UKI_URL_PATTERN } from "./formats.ts";
import { bootConfigStatus, GROUP_VERSION, objectMeta } from "./meta.ts";

export const SWITCH_BOOT_CONFIG_KIND = "SwitchBootConfig";

/** Secret keys the ZTP endpoints read, in the style of `ignition` / `ipxe-script`. */
export const SECRET_KEY_ZTP_JSON = "ztp.json";
export const SECRET_KEY_SCRIPT = "script";
export const SECRET_KEY_STARTUP_CONFIG = "startup-config";

const INSTALLER_URL_MESSAGE = "must be an http:// or https:// URL, a path starting with / on this appliance (/uki/… files, /image?… through the image proxy)";

/** ONIE fetches with busybox wget (http, https): an absolute http(s) URL, or a path on this appliance. */
const installerUrl = v.pipe(
  v.string(),
  v.maxLength(2048, "must be at most 2048 characters"),
  v.check((value) => value === "" || (UKI_URL_PATTERN.test(value) && (value.startsWith("/") || URL.canParse(value))), INSTALLER_URL_MESSAGE),
  openapi<string>({ celRules: [{ rule: `self == '' || self.matches(r'${UKI_URL_PATTERN.source}')`, message: INSTALLER_URL_MESSAGE }] }),
  v.transform((value: string): string | undefined => (value === "" ? undefined : value)),
);

const HOSTNAME_PATTERN = /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;
const HOSTNAME_MESSAGE = "must be a host name (letters, digits, '-', '.')";

const d = v.description;

const switchBootConfigFields = v.strictObject({
  serialNumber: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(128, "must be at most 128 characters"),
      d(
        "The switch's serial number as its ZTP client reports it (ONIE-SERIAL-NUMBER, SERIAL-NUMBER, X-Arista-Serial, CUMULUS-SERIAL); trimmed, any letter case.",
      ),
    ),
  ),
  macAddresses: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), d("One MAC address, in any common notation."))),
      d("Management and base MAC addresses of the switch. Entries that are not MAC addresses are ignored and reported as a warning."),
    ),
  ),
  systemIPs: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), d("One IPv4 or IPv6 address."))),
      d("Addresses the switch asks from. When given, a request must also come from one of them (the identity headers are asserted by the client)."),
    ),
  ),
  hostname: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(253, "must be at most 253 characters"),
      v.regex(HOSTNAME_PATTERN, HOSTNAME_MESSAGE),
      d("{{.Hostname}} in the templates; metadata.name when absent."),
    ),
  ),
  onie: v.optional(
    v.pipe(
      v.strictObject({
        installerURL: v.optional(
          v.pipe(
            installerUrl,
            d(
              "What /ztp/onie/onie-installer… answers (ONIE-OPERATION os-install): an http(s) URL, or a path on this appliance (/uki/… files, /image?… through the image proxy).",
            ),
          ),
        ),
        updaterURL: v.optional(
          v.pipe(
            installerUrl,
            d("What /ztp/onie/onie-updater… answers (ONIE-OPERATION onie-update); the image must carry ONIE-UPDATER-COOKIE in its first 100 lines."),
          ),
        ),
      }),
      d("The ONIE installer and updater this switch gets."),
    ),
  ),
  sonic: v.optional(
    v.pipe(
      v.strictObject({
        ztpJSONSecretRef: v.optional(
          v.pipe(
            localObjectReference,
            d("Secret whose ztp.json key is the SONiC ZTP JSON (a template); its other keys are served at /ztp/files/<namespace>/<name>/<key>."),
          ),
        ),
      }),
      d("What a SONiC switch gets at /ztp/sonic/ztp.json."),
    ),
  ),
  provisioningScriptSecretRef: v.optional(
    v.pipe(localObjectReference, d("Secret whose script key is the provisioning script (SONiC option 239, Arista bootstrap, Cumulus), a template.")),
  ),
  startupConfigSecretRef: v.optional(
    v.pipe(localObjectReference, d("Secret whose startup-config key Arista EOS gets at /ztp/arista/bootstrap instead of a script.")),
  ),
});

const NOTHING_TO_SERVE =
  "must name at least one thing to serve: onie.installerURL, onie.updaterURL, sonic.ztpJSONSecretRef, provisioningScriptSecretRef or startupConfigSecretRef";
const NO_IDENTITY = "must name the switch: at least one of serialNumber, macAddresses, systemIPs";

type SwitchBootConfigFields = v.InferOutput<typeof switchBootConfigFields>;

function servesSomething(spec: SwitchBootConfigFields): boolean {
  return (
    spec.onie?.installerURL !== undefined ||
    spec.onie?.updaterURL !== undefined ||
    spec.sonic?.ztpJSONSecretRef !== undefined ||
    spec.provisioningScriptSecretRef !== undefined ||
    spec.startupConfigSecretRef !== undefined
  );
}

function namesSwitch(spec: SwitchBootConfigFields): boolean {
  return (spec.serialNumber ?? "").trim() !== "" || (spec.macAddresses ?? []).length > 0 || (spec.systemIPs ?? []).length > 0;
}

export const switchBootConfigSpec = v.pipe(
  switchBootConfigFields,
  v.description("What the switch is (serial, MACs, addresses) and what it gets from /ztp; at least one of each."),
  v.check(servesSomething, NOTHING_TO_SERVE),
  v.check(namesSwitch, NO_IDENTITY),
  openapi<SwitchBootConfigFields>({
    celRules: [
      {
        rule:
          "(has(self.onie) && ((has(self.onie.installerURL) && self.onie.installerURL != '') || (has(self.onie.updaterURL) && self.onie.updaterURL != ''))) || " +
          "(has(self.sonic) && has(self.sonic.ztpJSONSecretRef)) || has(self.provisioningScriptSecretRef) || has(self.startupConfigSecretRef)",
        message: NOTHING_TO_SERVE,
        reason: "FieldValueRequired" as const,
      },
      {
        rule: "(has(self.serialNumber) && self.serialNumber.trim() != '') || (has(self.macAddresses) && size(self.macAddresses) > 0) || (has(self.systemIPs) && size(self.systemIPs) > 0)",
        message: NO_IDENTITY,
        reason: "FieldValueRequired" as const,
      },
    ],
  }),
);

export const switchBootConfig = v.looseObject({
  apiVersion: v.literal(GROUP_VERSION),
  kind: v.literal(SWITCH_BOOT_CONFIG_KIND),
  metadata: objectMeta,
  spec: switchBootConfigSpec,
  // As for the server kinds: a status we cannot read never keeps the config from being served.
  status: v.fallback(v.optional(bootConfigStatus), undefined),
});
export type SwitchBootConfig = v.InferOutput<typeof switchBootConfig>;
