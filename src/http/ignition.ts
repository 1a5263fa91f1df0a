// /ignition/{uuid}: the machine's Ignition config, Butane translated once per secret version (on a worker, when the
// index changes); a request for a version still being translated awaits that result, never translates itself.
// Under --ignition-access bound the requester must be one of the machine's own addresses or carry its boot token;
// a refusal is the same 403 for a known and an unknown UUID, so a stranger learns nothing about which exist.
import { canonicalUuid } from "../api/canonical.ts";
import { configAccessIdentity } from "../boot/access/decision.ts";
import { resolveIgnitionConfig } from "../boot/resolve.ts";
import { settledIgnitionServability } from "../boot/servability.ts";
import { AnswerMemo, isRecentRepeat, type RecordedFetch } from "./answer-memo.ts";
import type { HttpDeps } from "./context.ts";
import { refuseIgnition, requesterAddress } from "./ignition-access.ts";
import { type EndpointFamily, queryOf, rawPathOf, textError } from "./routes.ts";
import { servedLogFor } from "./served-log.ts";

const IGNITION_HEADERS = new Headers({ "Content-Type": "application/json", "Cache-Control": "no-store" }); // a Headers object: the Response copies it, cheaper than from a record

/** A servable Ignition answer and what the served log says about it. */
interface ServableIgnition extends RecordedFetch {
  json: string;
  kind: "IPXEBootConfig" | "HTTPBootConfig";
  configKey: string;
  format: string;
}

export function ignitionFamily(deps: HttpDeps): EndpointFamily {
  const served = servedLogFor(deps.log);
  // Open access only (a bound answer depends on requester and token): by the UUID segment as sent, per index.
  const answers = new AnswerMemo<ServableIgnition>(
    () => 2 * (deps.store.index.ipxeBootConfigs.length + deps.store.index.httpBootConfigs.length) + 1024,
    deps.afterStorm,
  );
  const deliver = (request: Request, clientAddress: string, answer: ServableIgnition): Response => {
    const { kind, configKey } = answer;
    const now = Date.now();
    if (isRecentRepeat(answer, clientAddress, now)) deps.onServedRepeat?.("ignition");
    else deps.onServed({ milestone: "ignition", kind, configKey, client: clientAddress, path: rawPathOf(request.url), at: new Date(now) });
    served.success("served ignition", "/ignition/:uuid", configKey, clientAddress, () => ({
      config: configKey,
      kind,
      format: answer.format,
      client: clientAddress,
    }));
    return new Response(answer.json, { headers: IGNITION_HEADERS });
  };
  return {
    name: "ignition",
    routes: [
      {
        path: "/ignition/:uuid",
        methods: ["GET", "HEAD"],
        handler: (request, { params, clientAddress }) => {
          const raw = params.uuid ?? "";
          const remembered = deps.ignitionAccess ? undefined : answers.get(deps.store.index, raw);
          return remembered ? deliver(request, clientAddress, remembered) : answerAnew(request, raw, clientAddress);
        },
      },
    ],
  };

  async function answerAnew(request: Request, raw: string, clientAddress: string): Promise<Response> {
    const uuid = canonicalUuid(raw);
    if (!uuid) return textError(400, `invalid machine UUID ${JSON.stringify(raw)}`);
    const index = deps.store.index;
    const resolved = resolveIgnitionConfig(index, uuid);
    const access = deps.ignitionAccess;
    if (access) {
      // Checked before anything that tells a known UUID from an unknown one (404, a missing secret).
      const requester = requesterAddress(request, clientAddress, deps);
      const identity = !resolved
        ? null
        : resolved.kind === "IPXEBootConfig"
          ? configAccessIdentity({ kind: resolved.kind, config: resolved.match.config })
          : configAccessIdentity({ kind: resolved.kind, config: resolved.match.config });
      const token = queryOf(request.url)?.get("token") ?? null;
      // A HEAD sends no Ignition, so it does not use up one of the token's fetches.
      const decision = request.method === "HEAD" ? access.preview(identity, requester, token) : access.admit(identity, requester, token);
      if (!decision.allow) {
        const config = resolved ? { kind: resolved.kind, key: resolved.match.key } : undefined;
        return refuseIgnition(deps, { reason: decision.reason, requester, peer: clientAddress, uuid, config });
      }
    }
    if (!resolved) return textError(404, `no IPXEBootConfig or HTTPBootConfig has systemUUID ${uuid}`);
    const { key } = resolved.match;
    const ignition = await settledIgnitionServability(index, deps.store, resolved.match.config);
    if (!ignition.ok) {
      if (ignition.status === 500) served.failure("cannot serve ignition", clientAddress, { config: key, reason: ignition.message });
      return textError(ignition.status, ignition.message);
    }
    const answer: ServableIgnition = { json: ignition.json, kind: resolved.kind, configKey: key, format: ignition.format };
    if (!access) answers.set(index, deps.store.index, raw, answer);
    return deliver(request, clientAddress, answer);
  }
}
