// Field formats shared by every resource. Each check is a valibot action so the same rule produces the runtime
// error message, and (via the pattern beside it) the CRD's OpenAPI pattern.
import * as v from "valibot";
import { canonicalIp, canonicalMac, canonicalUuid } from "./canonical.ts";

/** RFC 1123 DNS subdomain, the rule Kubernetes applies to object and secret names. */
const DNS_SUBDOMAIN_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Loose UUID text as accepted on input (any case, dashes required); canonicalised when indexed. */
const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Boot file URL: absolute http(s), or a path starting with "/" that is resolved against --public-url when served. */
export const BOOT_URL_PATTERN = /^(https?:\/\/[^\s/?#]+([/?#]\S*)?|\/[^\s]*)$/;

/** MAC notations accepted everywhere, as an RE2-compatible pattern (no backreferences) for the CRD. */
const MAC_PATTERN_SOURCE =
  "^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{4}[.][0-9A-Fa-f]{4}[.][0-9A-Fa-f]{4}$|^[0-9A-Fa-f]{12}$";

/**
 * OpenAPI hints for the CRD generator (src/api/openapi.ts), for checks valibot runs as code. The API server enforces
 * these; test/unit/crd.test.ts feeds the same valid and invalid values to both sides so they cannot drift.
 */
export interface OpenApiHints {
  pattern?: string;
  maxLength?: number;
  maxItems?: number;
  format?: string;
  celRules?: { rule: string; message: string }[];
  listMapKeys?: string[];
}
export function openapi<TInput>(hints: OpenApiHints) {
  return v.metadata<TInput, { openapi: OpenApiHints }>({ openapi: hints });
}

export const resourceName = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  v.maxLength(253, "must be at most 253 characters"),
  v.regex(DNS_SUBDOMAIN_PATTERN, "must be a lower-case RFC 1123 DNS subdomain (a-z, 0-9, '-', '.')"),
);

export const systemUuid = v.pipe(
  v.string(),
  v.check((value) => canonicalUuid(value) !== null && UUID_PATTERN.test(value), "must be a UUID like 4c4c4544-0042-3510-8052-b4c04f4a4e31"),
  v.maxLength(36, "must be a UUID like 4c4c4544-0042-3510-8052-b4c04f4a4e31"),
  openapi<string>({ celRules: [{ rule: `self.matches(r'${UUID_PATTERN.source}')`, message: "must be a UUID like 4c4c4544-0042-3510-8052-b4c04f4a4e31" }] }),
);

export const bootUrl = v.pipe(
  v.string(),
  v.regex(BOOT_URL_PATTERN, "must be an http:// or https:// URL, or a path starting with / served by this appliance"),
  v.check((value) => value.startsWith("/") || URL.canParse(value), "is not a parseable URL"),
  v.maxLength(2048, "must be at most 2048 characters"),
);

/** Plain address text as Kubernetes' isIP() reads it: no zone, no brackets (those are accepted only on the wire). */
const plainAddress = (value: string): boolean => !/[%[\]\s]/.test(value) && canonicalIp(value) !== null;

export const ipAddress = v.pipe(
  v.string(),
  v.maxLength(64, "must be at most 64 characters"),
  v.check(plainAddress, "must be an IPv4 or IPv6 address"),
  openapi<string>({ celRules: [{ rule: "isIP(self)", message: "must be an IPv4 or IPv6 address" }] }),
);

export const networkIdentifier = v.pipe(
  v.string(),
  v.maxLength(64, "must be at most 64 characters"),
  v.check((value) => canonicalMac(value) !== null || plainAddress(value), "must be an IPv4/IPv6 address or a MAC address"),
  openapi<string>({
    celRules: [{ rule: `isIP(self) || self.matches(r'${MAC_PATTERN_SOURCE}')`, message: "must be an IPv4/IPv6 address or a MAC address" }],
  }),
);

export const localObjectReference = v.strictObject({
  name: resourceName,
});
