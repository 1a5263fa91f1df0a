// Why a boot route did not answer 2xx, as a low-cardinality reason for the failure counter and the info log: the day
// a machine does not boot, the operator needs "unknown machine" told apart from "its secret is missing". Pure.

/** Routes a booting machine (or its DHCP server) asks; failures elsewhere (/metrics, /readyz) are not boot failures. */
export function isBootRoute(route: string): boolean {
  // Switches (/ztp/…, and ONIE's names at / whose route is a :onie{…} pattern, or the path itself when unmatched).
  return /^\/(ipxe|ignition|httpboot|uki|image|ztp)(\/|$)/.test(route) || /^\/(:onie\{|onie-(installer|updater))/.test(route);
}

/** Unknown-machine answers of the routes (ipxe, ignition, httpboot, ztp): "no IPXEBootConfig matches …" and the like. */
const UNKNOWN_MACHINE = /^no (IPXEBootConfig|HTTPBootConfig|SwitchBootConfig)s? (matches|claims|or HTTPBootConfig has)\b/;

export type FailureReason =
  | "unknown-machine"
  | "bad-request"
  | "forbidden"
  | "not-found"
  | "method-not-allowed"
  | "body-too-large"
  | "range-not-satisfiable"
  | "config-broken"
  | "upstream"
  | "not-ready"
  | "other";

export function failureReason(status: number, body: string): FailureReason {
  if (status === 404 && UNKNOWN_MACHINE.test(body)) return "unknown-machine";
  switch (status) {
    case 400:
      return "bad-request";
    case 403:
      return "forbidden";
    case 404:
      return "not-found";
    case 405:
      return "method-not-allowed";
    case 413:
      return "body-too-large";
    case 416:
      return "range-not-satisfiable";
    case 500:
      return "config-broken";
    case 502:
    case 504:
      return "upstream";
    case 503:
      return "not-ready";
    default:
      return "other";
  }
}

/** The one-line reason the answer carries, bounded for the log. */
export function reasonLine(body: string): string {
  const line = body.split("\n", 1)[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}
