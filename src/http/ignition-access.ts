// The wire side of `--ignition-access bound`, shared by /ipxe (tokens into scripts) and /ignition (checks): who the
// requester is (the TCP peer, or a trusted proxy's X-Forwarded-For, read as /httpboot reads it), and how a refusal
// or a contested window is made visible: counted, logged with the requester (throttled, since a machine or a
// scanner repeats), and handed to onAccessEvent for the Kubernetes Warning Events.
import { canonicalNetworkIdentifier } from "../api/canonical.ts";
import { type DenyReason, denialMessage } from "../boot/access/decision.ts";
import type { AccessEvent } from "../boot/access/policy.ts";
import { httpBootIdentity } from "../boot/httpboot.ts";
import { PerKeyThrottle } from "../observability/log-throttle.ts";
import type { HttpDeps } from "./context.ts";
import { textError } from "./routes.ts";

const LOG_INTERVAL_MS = 10_000;

/** The booting machine's IP: the peer, or the first IP a trusted proxy names; null when it cannot be worked out. */
export function requesterAddress(request: Request, clientAddress: string, deps: HttpDeps): string | null {
  const identity = httpBootIdentity(clientAddress, request.headers.get("x-forwarded-for"), deps.settings.trustedProxies, deps.settings.forwardedFor);
  if (!identity.ok) return null;
  for (const identifier of identity.identifiers) if (canonicalNetworkIdentifier(identifier)?.kind === "ip") return identifier;
  return null;
}

// One throttle per app (deps object), so separate apps in one process (tests) do not share state.
const throttles = new WeakMap<HttpDeps, PerKeyThrottle>();

function throttleFor(deps: HttpDeps): PerKeyThrottle {
  let throttle = throttles.get(deps);
  if (!throttle) {
    throttle = new PerKeyThrottle(LOG_INTERVAL_MS);
    throttles.set(deps, throttle);
  }
  return throttle;
}

interface Denial {
  reason: DenyReason;
  requester: string | null;
  peer: string;
  uuid: string;
  /** The config the UUID resolves to; absent for an unknown UUID (the answer is the same, the log says so). */
  config?: { kind: "IPXEBootConfig" | "HTTPBootConfig"; key: string } | undefined;
}

/** Counts, logs and reports one refusal; returns the 403 every refusal gets, whether or not the UUID exists. */
export function refuseIgnition(deps: HttpDeps, denial: Denial): Response {
  deps.metrics.ignitionDenied.inc({ reason: denial.reason });
  const requester = denial.requester ?? "(unknown)";
  const decision = throttleFor(deps).allow(`denied ${requester} ${denial.uuid}`, Date.now());
  if (decision.allowed) {
    deps.log.warn("ignition fetch refused", {
      reason: denial.reason,
      requester,
      peer: denial.peer,
      uuid: denial.uuid,
      config: denial.config ? `${denial.config.kind} ${denial.config.key}` : "(no config has this UUID)",
      ...(decision.suppressed > 0 ? { suppressedSinceLastLine: decision.suppressed } : {}),
    });
  }
  if (denial.config) {
    reportEvent(deps, { type: "denied", configKind: denial.config.kind, configKey: denial.config.key, reason: denial.reason, requester });
  }
  return textError(403, denialMessage(denial.reason));
}

/** Counts, logs and reports a script fetch from an address other than the window's holder. */
export function reportContest(deps: HttpDeps, contest: { configKey: string; holder: string; requester: string }): void {
  deps.metrics.ignitionTokenContested.inc();
  const decision = throttleFor(deps).allow(`contested ${contest.requester} ${contest.configKey}`, Date.now());
  if (decision.allowed) {
    deps.log.warn("boot token contested: another address asked for this machine's iPXE script; answered without a token", {
      config: `IPXEBootConfig ${contest.configKey}`,
      requester: contest.requester,
      holder: contest.holder,
      hint: "if the machine itself did not get the token, re-arm it: a new value in annotation boot.ironcore.dev/rearm-token",
      ...(decision.suppressed > 0 ? { suppressedSinceLastLine: decision.suppressed } : {}),
    });
  }
  reportEvent(deps, { type: "contested", configKind: "IPXEBootConfig", ...contest });
}

function reportEvent(deps: HttpDeps, event: AccessEvent): void {
  try {
    deps.onAccessEvent?.(event);
  } catch (error) {
    deps.log.warn("could not report an ignition access event", { error: error instanceof Error ? error.message : String(error) });
  }
}
