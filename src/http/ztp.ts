// /ztp/…: zero-touch provisioning of network switches from SwitchBootConfig resources. ONIE asks for its waterfall of
// installer names (/ztp/onie/<name>, and at / with --ztp-onie-at-root), SONiC for its ZTP JSON and script, EOS for
// its bootstrap, Cumulus for its script; the files a ZTP JSON names come from /ztp/files/<ns>/<secret>/<key>. Every
// request is matched by the identity headers its client sends, then by source address (trusted proxies as for
// /httpboot); a miss is a fast 404 with one line saying why, so ONIE moves on to its next name at once. Under
// --ignition-access bound the Secret payloads go only to the config's systemIPs (boot/ztp/access.ts); ONIE images are
// served as in open mode.
//
// Installer images: a file under /uki/ is streamed from --uki-dir (Range, HEAD, Content-Length; an updater's cookie is
// checked first); any other URL — http(s), or a path here such as /image?… through the image proxy with its
// allow-list and digest checks — is a redirect, which ONIE's busybox wget follows, so multi-GB images never pass
// through this process twice.
import { canonicalIp, canonicalMac } from "../api/canonical.ts";
import type { SwitchBootConfig } from "../api/index.ts";
import { httpBootIdentity } from "../boot/httpboot.ts";
import { namespaceOf } from "../boot/resolve.ts";
import type { ServedEvent } from "../boot/served.ts";
import { decideZtpAccess, ZTP_DENIAL_MESSAGE } from "../boot/ztp/access.ts";
import { claimFromHeaders, protocolOfHeaders, resolveSwitch, type SwitchClaim, type ZtpProtocol } from "../boot/ztp/identify.ts";
import { checkOnieName, hasUpdaterCookie, ONIE_UPDATER_COOKIE, onieFacts } from "../boot/ztp/onie.ts";
import { renderPayload, switchTemplateData } from "../boot/ztp/payload.ts";
import { onieImageServability, type SecretPayload, switchPayloadServability, type ZtpEndpoint } from "../boot/ztp/serve.ts";
import type { Match } from "../index/boot-index.ts";
import { absoluteBootUrl, type HttpDeps, publicUrlFor } from "./context.ts";
import { type EndpointFamily, rawPathOf, textError } from "./routes.ts";
import { servedLogFor } from "./served-log.ts";
import { contentTypeFor, resolveInside, serveFile } from "./static-files.ts";

const GET_HEAD = ["GET", "HEAD"] as const;
const UKI_MOUNT = "/uki/";
/** ONIE reads the cookie from the first 100 lines; an image whose first MiB has no 100 lines is a binary without one. */
const COOKIE_SCAN_BYTES = 1024 * 1024;
/** ONIE's names at / (--ztp-onie-at-root): only these shapes, so no other route at / is shadowed. */
export const ONIE_ROOT_ROUTE = "/:onie{onie-(?:installer|updater)[-._A-Za-z0-9]*}";

const CONTENT_TYPES: Record<SecretPayload["kind"], string> = {
  "ztp-json": "application/json",
  script: "text/plain; charset=utf-8",
  "startup-config": "text/plain; charset=utf-8",
  file: "application/octet-stream",
};

type Identified = { ok: true; claim: SwitchClaim; match: Match<SwitchBootConfig>; sourceIp: string | undefined } | { ok: false; response: Response };

export function ztpFamily(deps: HttpDeps): EndpointFamily {
  const served = servedLogFor(deps.log);

  /**
   * The switch a request names: its protocol's headers, then its source address (trusted proxies as for /httpboot).
   * `credentials`: the answer comes from a Secret, so under --ignition-access bound only the config's systemIPs get
   * it, and every refusal (unknown switch included) is the same 403.
   */
  const identify = (request: Request, clientAddress: string, protocol: ZtpProtocol, credentials: boolean): Identified => {
    const identity = httpBootIdentity(clientAddress, request.headers.get("x-forwarded-for"), deps.settings.trustedProxies, deps.settings.forwardedFor);
    if (!identity.ok) return { ok: false, response: textError(400, identity.reason) };
    const sourceIps = identity.identifiers.filter((entry) => canonicalMac(entry) === null && canonicalIp(entry) !== null);
    const claim = claimFromHeaders(protocol, request.headers);
    const resolved = resolveSwitch(deps.store.index, claim, sourceIps);
    if (credentials && deps.ignitionAccess) {
      const access = decideZtpAccess(resolved, sourceIps);
      if (!access.allow) {
        // Logged by the failure log (middleware) with this line; the reason is for the counter only.
        deps.metrics.ztpDenied.inc({ reason: access.reason });
        return { ok: false, response: textError(403, ZTP_DENIAL_MESSAGE) };
      }
    }
    if (!resolved.ok) return { ok: false, response: textError(resolved.status, resolved.reason) };
    return { ok: true, claim, match: resolved.match, sourceIp: sourceIps[0] };
  };

  const record = (
    request: Request,
    milestone: ServedEvent["milestone"],
    found: Extract<Identified, { ok: true }>,
    clientAddress: string,
    fields: Record<string, unknown>,
  ): void => {
    if (request.method !== "GET") return;
    const client = found.sourceIp ?? clientAddress;
    deps.onServed({
      milestone,
      kind: "SwitchBootConfig",
      configKey: found.match.key,
      client,
      path: rawPathOf(request.url),
      at: new Date(),
      ztp: { protocol: found.claim.protocol, reported: found.claim.reported },
    });
    served.success(`served ${milestone}`, `/ztp/${found.claim.protocol}`, found.match.key, client, () => ({
      config: found.match.key,
      client,
      matchedBy: found.match.reason,
      identifier: found.match.identifier,
      ...found.claim.reported,
      ...fields,
    }));
  };

  const onie = async (request: Request, clientAddress: string, name: string): Promise<Response> => {
    const check = checkOnieName(name, onieFacts(request.headers));
    if (!check.ok) return textError(404, check.reason);
    const found = identify(request, clientAddress, "onie", false);
    if (!found.ok) return found.response;
    const endpoint = check.operation === "onie-update" ? "onie-updater" : "onie-installer";
    const image = onieImageServability(found.match.config, endpoint);
    if (!image.ok) return textError(image.status, image.message);
    const milestone = endpoint === "onie-updater" ? "ztp-onie-updater" : "ztp-onie-installer";
    if (image.url.startsWith(UKI_MOUNT)) {
      const root = deps.settings.ukiDir;
      if (!root) return textError(404, `${image.url} is a /uki/ file but no --uki-dir is configured on this appliance`);
      const resolved = await resolveInside(root, image.url.slice(UKI_MOUNT.length));
      if (!resolved.ok) return textError(resolved.status, resolved.reason);
      if (endpoint === "onie-updater") {
        const head = await Bun.file(resolved.absolute).slice(0, COOKIE_SCAN_BYTES).text();
        if (!hasUpdaterCookie(head)) {
          return textError(
            500,
            `updater ${image.url} of SwitchBootConfig ${found.match.key} has no ${ONIE_UPDATER_COOKIE} in its first 100 lines: ONIE refuses it`,
          );
        }
      }
      const response = await serveFile(request, root, resolved.absolute);
      if (response.status === 200 || response.status === 206)
        record(request, milestone, found, clientAddress, { name, image: image.url, status: response.status });
      return response;
    }
    const base = publicUrlFor(request, deps.settings);
    if (!base.ok && image.url.startsWith("/")) return textError(400, base.reason);
    const location = base.ok ? absoluteBootUrl(image.url, base.url) : image.url;
    record(request, milestone, found, clientAddress, { name, redirect: location });
    return new Response(null, { status: 302, headers: { Location: location, "Cache-Control": "no-store" } });
  };

  const payload = (
    request: Request,
    clientAddress: string,
    protocol: ZtpProtocol,
    endpoint: Exclude<ZtpEndpoint, "onie-installer" | "onie-updater">,
  ): Response => {
    const found = identify(request, clientAddress, protocol, true);
    if (!found.ok) return found.response;
    const verdict = switchPayloadServability(deps.store.index, deps.store.ztp, found.match.config, endpoint);
    if (!verdict.ok) return textError(verdict.status, verdict.message);
    const base = publicUrlFor(request, deps.settings);
    if (!base.ok) return textError(400, base.reason);
    const data = switchTemplateData(found.match.config, {
      claim: found.claim,
      publicUrl: base.url,
      secretName: verdict.secretName,
      ...(found.sourceIp ? { sourceIp: found.sourceIp } : {}),
    });
    const body = renderPayload(verdict.template, verdict.kind, data);
    record(request, endpoint === "sonic-json" ? "ztp-config" : "ztp-script", found, clientAddress, {
      secret: verdict.secretKey,
      key: verdict.dataKey,
      ...(verdict.stale ? { servingLastValid: verdict.stale } : {}),
    });
    return new Response(body, { headers: { "Content-Type": CONTENT_TYPES[verdict.kind], "Cache-Control": "no-store" } });
  };

  /** Files of a Secret a switch's config references, rendered with that switch's facts; nobody else's. */
  const file = (request: Request, clientAddress: string, params: Readonly<Record<string, string>>): Response => {
    const { namespace = "", name = "", key = "" } = params;
    const found = identify(request, clientAddress, protocolOfHeaders(request.headers) ?? "sonic", true);
    if (!found.ok) return found.response;
    const config = found.match.config;
    const references = [config.spec.sonic?.ztpJSONSecretRef?.name, config.spec.provisioningScriptSecretRef?.name, config.spec.startupConfigSecretRef?.name];
    if (namespaceOf(config.metadata) !== namespace || !references.includes(name)) {
      return textError(403, `SwitchBootConfig ${found.match.key} does not reference secret ${namespace}/${name}`);
    }
    const entry = deps.store.index.secret(namespace, name);
    if (!entry) return textError(404, `secret ${namespace}/${name} referenced by SwitchBootConfig ${found.match.key} does not exist`);
    const verdict = deps.store.ztp.outcomeFor(entry, key, "file");
    if (!verdict.ok) return textError(verdict.status, verdict.message);
    const base = publicUrlFor(request, deps.settings);
    if (!base.ok) return textError(400, base.reason);
    const data = switchTemplateData(config, {
      claim: found.claim,
      publicUrl: base.url,
      secretName: name,
      ...(found.sourceIp ? { sourceIp: found.sourceIp } : {}),
    });
    record(request, "ztp-file", found, clientAddress, { secret: entry.key, key });
    return new Response(renderPayload(verdict.template, "file", data), { headers: { "Content-Type": contentTypeFor(key), "Cache-Control": "no-store" } });
  };

  return {
    name: "ztp",
    routes: [
      {
        path: "/ztp/onie/:name",
        methods: GET_HEAD,
        download: true,
        handler: (request, { clientAddress, params }) => onie(request, clientAddress, params.name ?? ""),
      },
      ...(deps.settings.ztpOnieAtRoot
        ? [
            {
              path: ONIE_ROOT_ROUTE,
              samplePath: "/onie-installer",
              methods: GET_HEAD,
              download: true,
              handler: (request: Request, { clientAddress, params }: { clientAddress: string; params: Readonly<Record<string, string>> }) =>
                onie(request, clientAddress, params.onie ?? ""),
            },
          ]
        : []),
      { path: "/ztp/sonic/ztp.json", methods: GET_HEAD, handler: (request, { clientAddress }) => payload(request, clientAddress, "sonic", "sonic-json") },
      { path: "/ztp/sonic/script", methods: GET_HEAD, handler: (request, { clientAddress }) => payload(request, clientAddress, "sonic", "sonic-script") },
      { path: "/ztp/arista/bootstrap", methods: GET_HEAD, handler: (request, { clientAddress }) => payload(request, clientAddress, "arista", "arista") },
      { path: "/ztp/cumulus", methods: GET_HEAD, handler: (request, { clientAddress }) => payload(request, clientAddress, "cumulus", "cumulus") },
      { path: "/ztp/files/:namespace/:name/:key", methods: GET_HEAD, handler: (request, { clientAddress, params }) => file(request, clientAddress, params) },
    ],
  };
}
