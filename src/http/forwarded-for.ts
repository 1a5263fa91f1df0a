// Telling an untrusted X-Forwarded-For apart from silence. The Go operator believes the header from anyone, so a
// DHCP server that worked with it but is not in our --trusted-proxies would quietly get answers for its own
// address; instead the request is counted, logged (once per peer per minute: FeDHCP asks on every DHCP message)
// and the answer carries a header saying the X-Forwarded-For was ignored.
import { canonicalIp } from "../api/canonical.ts";
import { FORWARDED_FOR_NOTICE_HEADER, forwardedForNotice, ignoredForwardedFor } from "../boot/httpboot.ts";
import { PerKeyThrottle } from "../observability/log-throttle.ts";
import type { HttpDeps } from "./context.ts";

const LOG_INTERVAL_MS = 60_000;

// One throttle per app (deps object), so separate apps in one process (tests) do not share state.
const throttles = new WeakMap<HttpDeps, PerKeyThrottle>();

/**
 * Call in a route that interprets X-Forwarded-For; returns the notice header to put on the answer when the header
 * was ignored, else null.
 */
export function noteIgnoredForwardedFor(request: Request, address: string, route: string, deps: HttpDeps): [name: string, value: string] | null {
  const forwardedFor = ignoredForwardedFor(address, request.headers.get("x-forwarded-for") ?? undefined, deps.settings.trustedProxies);
  if (forwardedFor === null) return null;
  const peer = canonicalIp(address) ?? address;
  deps.metrics.forwardedForIgnored.inc({ route });
  const notice: [string, string] = [FORWARDED_FOR_NOTICE_HEADER, forwardedForNotice(peer)];
  let throttle = throttles.get(deps);
  if (!throttle) {
    throttle = new PerKeyThrottle(LOG_INTERVAL_MS);
    throttles.set(deps, throttle);
  }
  const decision = throttle.allow(peer, Date.now());
  if (!decision.allowed) return notice;
  deps.log.warn("X-Forwarded-For ignored: the peer is not in --trusted-proxies, so it is identified by its own address", {
    peer,
    route,
    forwardedFor: forwardedFor.slice(0, 256),
    suppressedSinceLastLine: decision.suppressed,
    hint: "add the DHCP server or relay to --trusted-proxies if it speaks for booting machines",
  });
  return notice;
}

/** The answer with the notice header added, when there is one. */
export function withNotice(response: Response, notice: [name: string, value: string] | null): Response {
  if (notice) response.headers.set(notice[0], notice[1]);
  return response;
}
