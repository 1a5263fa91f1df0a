// ONIE's default file names ("the waterfall"). ONIE asks http://<server>/<name> for each name, most specific first,
// and takes the first 200 (onie lib/onie/functions): the appliance answers only names that are in the asking
// switch's own waterfall, as its headers describe it, so a switch never gets an image named for another platform.
// Pure.

type OnieOperation = "os-install" | "onie-update";
type OniePrefix = "onie-installer" | "onie-updater";

/** What ONIE tells about the platform in its headers (ONIE-ARCH, ONIE-MACHINE, ONIE-MACHINE-REV, ONIE-OPERATION). */
interface OnieFacts {
  arch?: string;
  /** onie_machine: "<vendor>_<machine>", e.g. accton_as7712_32x. */
  machine?: string;
  machineRev?: string;
  operation?: OnieOperation;
}

const FACT_PATTERN = /^[A-Za-z0-9._+-]{1,64}$/;

function fact(headers: Headers, name: string): string | undefined {
  const value = headers.get(name)?.trim();
  return value && FACT_PATTERN.test(value) ? value : undefined;
}

export function onieFacts(headers: Headers): OnieFacts {
  const operation = headers.get("ONIE-OPERATION")?.trim();
  const arch = fact(headers, "ONIE-ARCH");
  const machine = fact(headers, "ONIE-MACHINE");
  const machineRev = fact(headers, "ONIE-MACHINE-REV");
  return {
    ...(arch ? { arch } : {}),
    ...(machine ? { machine } : {}),
    ...(machineRev ? { machineRev } : {}),
    ...(operation === "os-install" || operation === "onie-update" ? { operation } : {}),
  };
}

function prefixFor(operation: OnieOperation): OniePrefix {
  return operation === "onie-update" ? "onie-updater" : "onie-installer";
}

/**
 * The names ONIE tries, most specific first, each bare and with ".bin" — except `<arch>-<asic>`, whose ASIC ONIE
 * does not send (it is accepted by shape, see checkOnieName).
 */
export function onieWaterfall(operation: OnieOperation, facts: OnieFacts): string[] {
  const prefix = prefixFor(operation);
  const stems: string[] = [];
  const { arch, machine, machineRev } = facts;
  if (arch && machine && machineRev !== undefined) stems.push(`${prefix}-${arch}-${machine}-r${machineRev}`);
  if (arch && machine) stems.push(`${prefix}-${arch}-${machine}`);
  if (machine) stems.push(`${prefix}-${machine}`);
  if (arch) stems.push(`${prefix}-${arch}`);
  stems.push(prefix);
  return stems.flatMap((stem) => [stem, `${stem}.bin`]);
}

type OnieNameCheck = { ok: true; operation: OnieOperation } | { ok: false; reason: string };

/** Whether `name` is one ONIE would ask for on this switch, and for which operation. */
export function checkOnieName(name: string, facts: OnieFacts): OnieNameCheck {
  const stem = name.endsWith(".bin") ? name.slice(0, -".bin".length) : name;
  const operation: OnieOperation | undefined =
    stem === "onie-installer" || stem.startsWith("onie-installer-")
      ? "os-install"
      : stem === "onie-updater" || stem.startsWith("onie-updater-")
        ? "onie-update"
        : undefined;
  if (!operation) return { ok: false, reason: `${name} is not an ONIE installer or updater name` };
  if (facts.operation && facts.operation !== operation) {
    return { ok: false, reason: `${name} is an ${prefixFor(operation)} name but ONIE-OPERATION is ${facts.operation}` };
  }
  const waterfall = onieWaterfall(operation, facts);
  if (waterfall.includes(name)) return { ok: true, operation };
  // `<prefix>-<arch>-<asic>`: the ASIC is not in ONIE's headers, so any single word after the switch's arch.
  const archPrefix = facts.arch ? `${prefixFor(operation)}-${facts.arch}-` : undefined;
  if (archPrefix && stem.startsWith(archPrefix) && /^[A-Za-z0-9]+$/.test(stem.slice(archPrefix.length))) return { ok: true, operation };
  return { ok: false, reason: `${name} is not in this switch's ONIE waterfall (its most specific name is ${waterfall[0] ?? prefixFor(operation)})` };
}

/** What an updater must carry (ONIE checks its first 100 lines before running it). */
export const ONIE_UPDATER_COOKIE = "ONIE-UPDATER-COOKIE";
const COOKIE_LINES = 100;

/** Whether the first 100 lines of `head` (the start of the image, as text) contain the updater cookie. */
export function hasUpdaterCookie(head: string): boolean {
  let from = 0;
  for (let line = 0; line < COOKIE_LINES; line++) {
    const end = head.indexOf("\n", from);
    const text = end < 0 ? head.slice(from) : head.slice(from, end);
    if (text.includes(ONIE_UPDATER_COOKIE)) return true;
    if (end < 0) return false;
    from = end + 1;
  }
  return false;
}
