// Validated, typed options. Each flag's value is checked by a valibot schema whose message names the flag, so a
// typo in a unit file or env var stops the start with one clear line instead of a surprise at boot time.
import * as v from "valibot";
import { type Cidr, parseCidr } from "../api/canonical.ts";
import { BOOT_URL_PATTERN } from "../api/formats.ts";
import { type ListenAddress, parseListenAddress } from "../http/server.ts";
import { LOG_LEVELS } from "../observability/log.ts";
import { type RawFlags, UsageError } from "./flags.ts";

type SourceSpec = { type: "dir"; directory: string } | { type: "kube" } | { type: "embedded" };

const sourceSchema = v.pipe(
  v.string(),
  v.transform((text): SourceSpec | null => {
    if (text === "kube") return { type: "kube" };
    if (text === "embedded:samples" || text === "embedded") return { type: "embedded" };
    if (text.startsWith("dir:") && text.length > 4) return { type: "dir", directory: text.slice(4) };
    return null;
  }),
  v.check((value) => value !== null, "must be dir:PATH, kube or embedded:samples"),
  v.transform((value) => value!),
);

const listenSchema = v.pipe(
  v.string(),
  v.transform(parseListenAddress),
  v.check((value) => value !== null, "must be host:port, :port or [ipv6]:port"),
  v.transform((value) => value as ListenAddress),
);

const publicUrlSchema = v.optional(
  v.pipe(
    v.string(),
    v.check(
      (text) => /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(text) && URL.canParse(text),
      "must be an http(s) URL without query, e.g. http://10.0.0.5:8082",
    ),
    v.transform((text) => text.replace(/\/+$/, "")),
  ),
);

const cidrListSchema = v.pipe(
  v.string(),
  v.transform((text) =>
    text
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part !== ""),
  ),
  v.check((parts) => parts.every((part) => parseCidr(part) !== null), "must be comma-separated CIDRs or addresses, e.g. 10.0.0.0/8,fd00::/8"),
  v.transform((parts): Cidr[] => parts.map((part) => parseCidr(part)!)),
);

const secondsSchema = (min: number, max: number) =>
  v.pipe(v.string(), v.transform(Number), v.number("must be a number"), v.integer("must be whole seconds"), v.minValue(min), v.maxValue(max));

const booleanSchema = v.pipe(
  v.string(),
  v.check((text) => ["true", "false", "1", "0", "yes", "no"].includes(text.toLowerCase()), "must be true or false"),
  v.transform((text) => ["true", "1", "yes"].includes(text.toLowerCase())),
);

const optionalText = v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty")));

export const serveOptionsSchema = v.object({
  source: sourceSchema,
  listen: listenSchema,
  "public-url": publicUrlSchema,
  "uki-dir": optionalText,
  "trusted-proxies": cidrListSchema,
  "default-uki-url": v.optional(v.pipe(v.string(), v.regex(BOOT_URL_PATTERN, "must be an http(s) URL or a path starting with /"))),
  "ipxe-template": optionalText,
  architecture: v.picklist(["amd64", "arm64"], "must be amd64 or arm64"),
  "log-level": v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(", ")}`),
  "shutdown-timeout": secondsSchema(0, 3600),
  "idle-timeout": secondsSchema(1, 255),
  kubeconfig: optionalText,
  namespace: v.pipe(v.string(), v.regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/, "must be a namespace name (or empty for all)")),
  "secret-label-selector": v.string(),
  "watch-stall-timeout": secondsSchema(1, 3600),
  "allowed-registries": v.pipe(
    v.string(),
    v.check((text) => text.split(",").some((part) => part.trim() !== ""), "must name at least one registry"),
    v.check(
      (text) => text.split(",").every((part) => /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(part.trim()) || part.trim() === ""),
      "must be host or host:port names, comma-separated",
    ),
  ),
  "insecure-registries": v.pipe(
    v.string(),
    v.transform((text) =>
      text
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== ""),
    ),
    v.check((parts) => parts.every((part) => /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(part)), "must be host or host:port names, comma-separated"),
  ),
  "blob-cache-dir": optionalText,
  "blob-cache-size": v.pipe(v.string(), v.transform(Number), v.number("must be a number"), v.integer("must be whole MiB"), v.minValue(1)),
  "default-httpboot-oci-image": optionalText,
  "registry-credentials-secret": v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, "must be namespace/name"))),
  "registry-credentials-refresh": secondsSchema(1, 3600),
  "translator-modes": v.pipe(
    v.string(),
    v.transform((text) =>
      text
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== ""),
    ),
    v.check((parts) => parts.every((part) => part === "ipxe" || part === "httpboot"), "must be ipxe, httpboot or ipxe,httpboot"),
    v.transform((parts) => ({ ipxe: parts.includes("ipxe"), httpboot: parts.includes("httpboot") })),
  ),
  "leader-elect": booleanSchema,
  "leader-election-namespace": v.string(),
});

export type ServeOptions = v.InferOutput<typeof serveOptionsSchema>;

/** Validates flags with `schema`; all problems at once, each naming its flag. */
export function validateFlags<TSchema extends v.GenericSchema>(schema: TSchema, flags: RawFlags): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, flags);
  if (result.success) return result.output;
  const messages = result.issues.map((issue) => {
    const flag = v.getDotPath(issue) ?? "?";
    const received = flags[flag];
    return `--${flag}${received === undefined ? "" : ` ${JSON.stringify(received)}`}: ${issue.message}`;
  });
  throw new UsageError(messages.join("\n"));
}

export const explainOptionsSchema = v.object({
  source: sourceSchema,
  "public-url": publicUrlSchema,
  "trusted-proxies": cidrListSchema,
  "default-uki-url": v.optional(v.string()),
  "log-level": v.picklist(LOG_LEVELS),
  uuid: v.optional(v.string()),
  mac: v.optional(v.string()),
  ip: v.optional(v.string()),
});
export type ExplainOptions = v.InferOutput<typeof explainOptionsSchema>;
