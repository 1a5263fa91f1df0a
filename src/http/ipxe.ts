// /ipxe (first stage: chainload with the machine's identity) and /ipxe/{uuid} (second stage: the boot script).
// A custom script is parsed once per secret version on a worker; a request for one still being parsed awaits that
// one result, never parses itself. Under --ignition-access bound the script's Ignition URL carries the machine's
// boot token, issued once per boot window (boot/access/windows.ts).
import { canonicalMac, canonicalUuid } from "../api/canonical.ts";
import type { IPXEBootConfig } from "../api/index.ts";
import { configAccessIdentity } from "../boot/access/decision.ts";
import { httpBootIdentity } from "../boot/httpboot.ts";
import { type IpxeTemplate, renderChainloadScript, renderIpxeTemplate } from "../boot/ipxe-template.ts";
import { defaultIpxeConfig, namespaceOf, resolveIpxeConfig } from "../boot/resolve.ts";
import { settledIpxeScriptServability } from "../boot/servability.ts";
import { AnswerMemo, isRecentRepeat, type RecordedFetch } from "./answer-memo.ts";
import { absoluteBootUrl, type HttpDeps, publicUrlFor } from "./context.ts";
import { noteIgnoredForwardedFor, withNotice } from "./forwarded-for.ts";
import { reportContest, requesterAddress } from "./ignition-access.ts";
import { type EndpointFamily, queryOf, type RouteContext, rawPathOf, textError } from "./routes.ts";
import { servedLogFor } from "./served-log.ts";

/** A rendered second-stage script and what the served log says about it. */
interface RenderedScript extends RecordedFetch {
  /** A Blob: each Response shares its bytes instead of encoding the string again (see answer-memo.ts). */
  body: Blob;
  publicUrl: string;
  /** The default template in use when rendered: a reloaded template file makes the memo's entry stale. */
  defaultTemplate: IpxeTemplate;
  configKey: string;
  matchedBy: string;
  identifier: string;
  custom: boolean;
}

const IPXE_HEADERS = new Headers({ "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" }); // a Headers object: the Response copies it, cheaper than from a record
const GET_HEAD = ["GET", "HEAD"] as const;

export function ipxeFamily(deps: HttpDeps): EndpointFamily {
  const served = servedLogFor(deps.log);
  const chainload = (request: Request, context: RouteContext): Response | Promise<Response> => {
    const query = queryOf(request.url);
    // A machine without an SMBIOS UUID chains to "/ipxe/?mac=…"; answering that with the chainload script again
    // would loop it forever, so a request carrying the identity query is already the second stage.
    if (query?.has("mac") || query?.has("arch")) return secondStage(request, query, context, "");
    const publicUrl = publicUrlFor(request, deps.settings);
    if (!publicUrl.ok) return textError(400, publicUrl.reason);
    deps.onServed({ milestone: "ipxe-chainload", client: context.clientAddress, path: rawPathOf(request.url), at: new Date() });
    return new Response(renderChainloadScript(publicUrl.url), { headers: IPXE_HEADERS });
  };

  // Default answers by the UUID segment as sent, per index generation (answer-memo.ts): a repeat is one lookup.
  const scripts = new AnswerMemo<RenderedScript>(() => 2 * deps.store.index.ipxeBootConfigs.length + 1024, deps.afterStorm);

  const secondStage = (request: Request, query: URLSearchParams | null, context: RouteContext, rawUuid: string): Response | Promise<Response> => {
    const notice = noteIgnoredForwardedFor(request, context.clientAddress, rawUuid === "" ? "/ipxe" : "/ipxe/:uuid", deps);
    // Remembered only without a query (the identity query changes the match) and without boot tokens (per boot).
    const remembered = query === null && !deps.ignitionAccess ? scripts.get(deps.store.index, rawUuid) : undefined;
    if (remembered && remembered.defaultTemplate === deps.ipxeTemplate()) {
      const base = publicUrlFor(request, deps.settings);
      if (base.ok && base.url === remembered.publicUrl) return withNotice(deliver(request, context, remembered), notice);
    }
    return renderSecondStage(request, query, context, rawUuid).then((answer) =>
      withNotice(answer instanceof Response ? answer : deliver(request, context, answer), notice),
    );
  };

  /** The script, or the error answer; a default answer is remembered for the next request with the same UUID. */
  const renderSecondStage = async (
    request: Request,
    query: URLSearchParams | null,
    context: RouteContext,
    rawUuid: string,
  ): Promise<RenderedScript | Response> => {
    const uuid = rawUuid === "" ? undefined : canonicalUuid(rawUuid);
    if (uuid === null) return textError(400, `invalid machine UUID ${JSON.stringify(rawUuid)}`);
    const rawMac = query?.get("mac");
    const mac = rawMac ? canonicalMac(rawMac) : null;
    if (rawMac && !mac) return textError(400, `invalid mac query parameter ${JSON.stringify(rawMac)}`);
    const index = deps.store.index;
    // The common case is decided by the UUID alone; the client's addresses are worked out only on a miss.
    let networkIds: string[] = [];
    let match = uuid ? index.ipxeByUuidLookup(uuid) : null;
    const byUuid = match !== null;
    if (!match) {
      const identity = httpBootIdentity(
        context.clientAddress,
        request.headers.get("x-forwarded-for"),
        deps.settings.trustedProxies,
        deps.settings.forwardedFor,
      );
      networkIds = identity.ok ? identity.identifiers : [];
      match = resolveIpxeConfig(index, {
        uuid,
        macs: [...(mac ? [mac] : []), ...networkIds.filter((id) => canonicalMac(id) !== null)],
        ips: networkIds.filter((id) => canonicalMac(id) === null),
      });
    }
    if (!match) match = defaultIpxeConfig(index, deps.settings.defaultIpxeConfig);
    if (!match) {
      const configured = deps.settings.defaultIpxeConfig;
      const fallback = configured ? `; the --default-ipxe-config IPXEBootConfig ${configured} does not exist` : "";
      return textError(
        404,
        `no IPXEBootConfig matches uuid ${uuid ?? "(none)"}, mac ${mac ?? "(none)"}, address ${networkIds.join(",") || "(unknown)"}${fallback}`,
      );
    }
    const { config } = match;
    const script = await settledIpxeScriptServability(index, deps.store, config);
    if (!script.ok) {
      if (script.status === 500) served.failure("cannot serve iPXE script", context.clientAddress, { config: match.key, reason: script.message });
      return textError(script.status, script.message);
    }
    const base = publicUrlFor(request, deps.settings);
    if (!base.ok) return textError(400, base.reason);
    const publicUrl = base.url;
    const token = request.method === "GET" ? bootToken(request, context, match.key, config) : null;
    const defaultTemplate = deps.ipxeTemplate();
    const body = renderIpxeTemplate(script.template ?? defaultTemplate, {
      // Absent with a custom script (which may not use them), or given as "" as the Go CRD allows (validate warns).
      KernelURL: config.spec.kernelURL ? absoluteBootUrl(config.spec.kernelURL, publicUrl) : "",
      InitrdURL: config.spec.initrdURL ? absoluteBootUrl(config.spec.initrdURL, publicUrl) : "",
      SquashfsURL: config.spec.squashfsURL ? absoluteBootUrl(config.spec.squashfsURL, publicUrl) : "",
      KernelArgs: config.spec.kernelArgs?.join(" ") ?? "",
      IgnitionURL: `${publicUrl}/ignition/\${uuid}${token ? `?token=${token}` : ""}`,
      PublicURL: publicUrl,
      IPXEServerURL: publicUrl,
      SystemUUID: config.spec.systemUUID ?? uuid ?? "",
      ConfigName: config.metadata.name,
      ConfigNamespace: namespaceOf(config.metadata),
    });
    const rendered: RenderedScript = {
      body: new Blob([body]),
      publicUrl,
      defaultTemplate,
      configKey: match.key,
      matchedBy: match.reason,
      identifier: match.identifier,
      custom: script.template !== null,
    };
    if (byUuid && query === null && !deps.ignitionAccess) scripts.set(index, deps.store.index, rawUuid, rendered);
    return rendered;
  };

  const deliver = (request: Request, context: RouteContext, rendered: RenderedScript): Response => {
    const client = context.clientAddress;
    const configKey = rendered.configKey;
    const now = Date.now();
    if (isRecentRepeat(rendered, client, now)) deps.onServedRepeat?.("ipxe-script");
    else deps.onServed({ milestone: "ipxe-script", kind: "IPXEBootConfig", configKey, client, path: rawPathOf(request.url), at: new Date(now) });
    served.success("served iPXE script", "/ipxe/:uuid", configKey, client, () => ({
      config: configKey,
      matchedBy: rendered.matchedBy,
      identifier: rendered.identifier,
      client,
      custom: rendered.custom,
    }));
    return new Response(rendered.body, { headers: IPXE_HEADERS });
  };

  /**
   * The token for this script under --ignition-access bound, or null. A HEAD never takes the window (it would
   * hold it without receiving the token); a fetch from another address than the holder's gets none, and is reported.
   */
  const bootToken = (request: Request, context: RouteContext, configKey: string, config: IPXEBootConfig): string | null => {
    const access = deps.ignitionAccess;
    if (!access || !config.spec.systemUUID) return null;
    const requester = requesterAddress(request, context.clientAddress, deps);
    const outcome = access.scriptToken(configAccessIdentity({ kind: "IPXEBootConfig", config }), requester);
    if (outcome.kind === "contested") {
      reportContest(deps, { configKey, holder: outcome.holder, requester: requester ?? context.clientAddress });
      return null;
    }
    if (outcome.kind === "unknown-requester") return null;
    deps.metrics.ignitionTokens.inc({ outcome: outcome.kind });
    return outcome.token;
  };

  return {
    name: "ipxe",
    routes: [
      { path: "/ipxe", methods: GET_HEAD, handler: chainload },
      { path: "/ipxe/", methods: GET_HEAD, handler: chainload },
      {
        path: "/ipxe/:uuid",
        methods: GET_HEAD,
        handler: (request, context) => secondStage(request, queryOf(request.url), context, context.params.uuid ?? ""),
      },
    ],
  };
}
