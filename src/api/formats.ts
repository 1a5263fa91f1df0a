// Field formats shared by every resource. Each check is a valibot action so the same rule produces the runtime
// error message, and (via the pattern beside it) the CRD's OpenAPI pattern.
import * as v from "valibot";
import { canonicalUuid } from "./canonical.ts";

/** RFC 1123 DNS subdomain, the rule Kubernetes applies to object and secret names. */
const DNS_SUBDOMAIN_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Loose UUID text as accepted on input (any case, dashes required); canonicalised when indexed. */
const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/**
 * Schemes iPXE downloads boot files over (its URI openers: tftm/mtftp are multicast TFTP, slam is multicast; iSCSI,
 * AoE and FCP are SAN boot, not downloads). `file:` (EFI local files) has its own form, see IPXE_URL_PATTERN.
 */
const IPXE_NETWORK_SCHEMES = ["http", "https", "tftp", "tftm", "mtftp", "ftp", "slam", "nfs"] as const;
/**
 * Kernel, initrd and squashfs URLs: any scheme iPXE can fetch (with a host), `file:` on EFI (relative, absolute or
 * `file://volume/…`), or a path starting with "/" that is resolved against --public-url when served.
 */
const IPXE_URL_PATTERN = new RegExp(`^((${IPXE_NETWORK_SCHEMES.join("|")}):\\/\\/[^\\s/?#]+([/?#]\\S*)?|file:\\S+|\\/\\S*)$`);
/**
 * UKI URLs (/httpboot answers, --default-uki-url): UEFI HTTP Boot firmware accepts only http:// and https://, so
 * anything else could never boot; or a path starting with "/" on this appliance.
 */
export const UKI_URL_PATTERN = /^(https?:\/\/[^\s/?#]+([/?#]\S*)?|\/\S*)$/;

/**
 * OpenAPI hints for the CRD generator (src/api/openapi.ts), for checks valibot runs as code. The API server enforces
 * these; test/kube/crd-validation.test.ts feeds the same valid and invalid values to both sides so they cannot drift.
 */
export interface OpenApiHints {
  pattern?: string;
  maxLength?: number;
  maxItems?: number;
  format?: string;
  /** CEL rules; `fieldPath` (relative, e.g. ".kernelURL") and `reason` let an object-level rule name its field. */
  celRules?: { rule: string; message: string; fieldPath?: string; reason?: "FieldValueRequired" | "FieldValueInvalid" }[];
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

/** Go's `omitempty` made explicit: an empty string means the field was left out, so it reads as absent. */
const emptyIsAbsent = v.transform((value: string): string | undefined => (value === "" ? undefined : value));

const UUID_MESSAGE = "must be a UUID like 4c4c4544-0042-3510-8052-b4c04f4a4e31";

/** A machine's SMBIOS UUID, or "" (none). Anything else could never equal the ${uuid} iPXE sends. */
export const systemUuid = v.pipe(
  v.string(),
  v.maxLength(36, UUID_MESSAGE),
  v.check((value) => value === "" || (UUID_PATTERN.test(value) && canonicalUuid(value) !== null), UUID_MESSAGE),
  openapi<string>({ celRules: [{ rule: `self == '' || self.matches(r'${UUID_PATTERN.source}')`, message: UUID_MESSAGE }] }),
  emptyIsAbsent,
);

/** A URL field as given: "" stays "" (see bootFileUrlAsGiven); the fields built from it read "" as absent. */
function urlFieldAsGiven(pattern: RegExp, message: string) {
  return v.pipe(
    v.string(),
    v.maxLength(2048, "must be at most 2048 characters"),
    v.check((value) => value === "" || (pattern.test(value) && (value.startsWith("/") || URL.canParse(value))), message),
    openapi<string>({ celRules: [{ rule: `self == '' || self.matches(r'${pattern.source}')`, message }] }),
  );
}

function urlField(pattern: RegExp, message: string) {
  return v.pipe(urlFieldAsGiven(pattern, message), emptyIsAbsent);
}

const BOOT_FILE_URL_MESSAGE = `must be a URL iPXE can fetch (${IPXE_NETWORK_SCHEMES.join(", ")}, file:), or a path starting with / served by this appliance`;

/** Kernel, initrd, squashfs: what iPXE can download, or a path on this appliance; "" is absent. */
export const bootFileUrl = urlField(IPXE_URL_PATTERN, BOOT_FILE_URL_MESSAGE);

/**
 * kernelURL/initrdURL before "" becomes absent: the Go CRD requires both keys but accepts "", so whether the key is
 * there at all is checked on this, and the config's schema reads "" as absent afterwards.
 */
export const bootFileUrlAsGiven = urlFieldAsGiven(IPXE_URL_PATTERN, BOOT_FILE_URL_MESSAGE);

/** A Unified Kernel Image for UEFI HTTP Boot: http(s), or a path on this appliance; "" is absent. */
export const ukiUrl = urlField(UKI_URL_PATTERN, "must be an http:// or https:// URL (UEFI HTTP Boot), or a path starting with / served by this appliance");

/**
 * One entry of systemIPs / networkIdentifiers. Any string, as the Go CRD accepts: an entry that is neither an IP nor
 * a MAC address can never match a request, so it is ignored (and reported as a warning) rather than taking the
 * machine's whole config away; the other entries and the UUID still work, as they do for the Go operator.
 */
export const identifierEntry = v.string();

export const localObjectReference = v.strictObject({
  name: v.pipe(resourceName, v.description("Name of the Secret, in the config's namespace.")),
});

/**
 * iPXE splits its command line at whitespace and treats `||` and `&&` as operators, so an argument with either would
 * end the kernel line early or inject a command; one argument per entry keeps the rendered line what was written.
 */
const KERNEL_ARGUMENT_PATTERN = /^[^\s|&]+$/;

/** spec.kernelArgs: extra kernel arguments, one per entry. */
export const kernelArguments = v.pipe(
  v.array(
    v.pipe(
      v.string(),
      v.maxLength(1024, "must be at most 1024 characters"),
      v.regex(KERNEL_ARGUMENT_PATTERN, "must be one kernel argument: not empty, no spaces, no | or & (iPXE would split the line there)"),
      v.description("One kernel argument, such as console=ttyS1,115200 or rd.debug."),
    ),
  ),
  v.maxLength(64, "must have at most 64 entries"),
);

const NAME_MESSAGE = "must be empty or a lower-case RFC 1123 DNS subdomain (a-z, 0-9, '-', '.')";

/**
 * ignitionSecretRef. The Go CRD defaults `name` to "", and a machine whose custom script needs no Ignition boots with
 * that; every reader treats "" as no reference (the default script's Ignition fetch then gets a 404, as with Go).
 */
export const ignitionSecretReference = v.strictObject({
  name: v.pipe(
    v.string(),
    v.description("Name of the Secret, in the config's namespace; empty: no Ignition."),
    v.maxLength(253, "must be at most 253 characters"),
    v.check((value) => value === "" || DNS_SUBDOMAIN_PATTERN.test(value), NAME_MESSAGE),
    openapi<string>({ celRules: [{ rule: `self == '' || self.matches(r'${DNS_SUBDOMAIN_PATTERN.source}')`, message: NAME_MESSAGE }] }),
  ),
});
