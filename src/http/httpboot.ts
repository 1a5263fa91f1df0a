// /httpboot: asked by the DHCP server for the UKI URL of a UEFI HTTP-booting machine.
import { httpBootAnswer, httpBootIdentity } from "../boot/httpboot.ts";
import { resolveHttpBootConfig } from "../boot/resolve.ts";
import { httpBootServability } from "../boot/servability.ts";
import type { LogFields } from "../observability/log.ts";
import { AnswerMemo, isRecentRepeat, type RecordedFetch } from "./answer-memo.ts";
import { absoluteBootUrl, type HttpDeps, publicUrlFor } from "./context.ts";
import { noteIgnoredForwardedFor, withNotice } from "./forwarded-for.ts";
import { type EndpointFamily, rawPathOf, textError } from "./routes.ts";
import { servedLogFor } from "./served-log.ts";

/** Hono's c.json() header, kept so the answer is byte-for-byte what the DHCP integration has always seen. */
const JSON_HEADERS = new Headers({ "Content-Type": "application/json" }); // a Headers object: the Response copies it, cheaper than from a record

/** A config's /httpboot answer for one (peer, X-Forwarded-For) pair, and what the served log says about it. */
interface HttpBootAnswer extends RecordedFetch {
  /** A Blob: each Response shares its bytes instead of encoding the string again (see answer-memo.ts). */
  body: Blob;
  publicUrl: string;
  configKey: string;
  client: string;
  /** Made once with the answer: a closure here kept the request's identity and match alive with every entry. */
  fields: LogFields;
}

export function httpBootFamily(deps: HttpDeps): EndpointFamily {
  const served = servedLogFor(deps.log);
  // By peer (the scope) and X-Forwarded-For as sent, per index (answer-memo.ts): FeDHCP asks on every DHCP message.
  // Answers with the default UKI are not remembered, since that URL can change without the index (an OCI image's UKI).
  const answers = new AnswerMemo<HttpBootAnswer>(() => 2 * deps.store.index.httpBootConfigs.length + 1024, deps.afterStorm);
  const deliver = (request: Request, answer: HttpBootAnswer): Response => {
    const { configKey, client } = answer;
    const now = Date.now();
    if (isRecentRepeat(answer, client, now)) deps.onServedRepeat?.("httpboot");
    else deps.onServed({ milestone: "httpboot", kind: "HTTPBootConfig", configKey, client, path: rawPathOf(request.url), at: new Date(now) });
    served.success("served httpboot answer", "/httpboot", configKey, client, answer.fields);
    return new Response(answer.body, { headers: JSON_HEADERS });
  };
  return {
    name: "httpboot",
    routes: [
      {
        path: "/httpboot",
        methods: ["GET", "HEAD"],
        handler: (request, { clientAddress }) => withNotice(answer(request, clientAddress), noteIgnoredForwardedFor(request, clientAddress, "/httpboot", deps)),
      },
    ],
  };

  function answer(request: Request, clientAddress: string): Response {
    const forwardedFor = request.headers.get("x-forwarded-for");
    // A header value cannot hold a NUL: "\u0000" stands for no header at all.
    const memoKey = forwardedFor ?? "\u0000";
    const index = deps.store.index;
    const remembered = answers.get(index, memoKey, clientAddress);
    if (remembered) {
      const base = publicUrlFor(request, deps.settings);
      if (base.ok && base.url === remembered.publicUrl) return deliver(request, remembered);
    }
    const identity = httpBootIdentity(clientAddress, forwardedFor, deps.settings.trustedProxies, deps.settings.forwardedFor);
    if (!identity.ok) return textError(400, identity.reason);
    const match = resolveHttpBootConfig(index, identity.identifiers);
    const base = publicUrlFor(request, deps.settings);
    if (!base.ok) return textError(400, base.reason);
    const publicUrl = base.url;
    if (!match) {
      const defaultUki = deps.settings.defaultUkiUrl();
      if (!defaultUki) {
        return textError(404, `no HTTPBootConfig claims ${identity.identifiers.join(", ")} and no default UKI is configured`);
      }
      const machine = identity.identifiers[0];
      served.success("served default UKI", "/httpboot", "(default UKI)", machine, () => ({ identifiers: identity.identifiers, via: identity.via }));
      return new Response(JSON.stringify(httpBootAnswer(identity.identifiers, absoluteBootUrl(defaultUki, publicUrl), "")), { headers: JSON_HEADERS });
    }
    // A config without a UKI (absent or "", as the Go operator writes it) names the machine but not what it
    // boots: it gets the default UKI, with its own SystemUUID.
    const uki = httpBootServability(match.config, deps.settings.defaultUkiUrl());
    if (!uki.ok) return textError(uki.status, uki.message);
    const client = identity.identifiers[0] ?? identity.peer;
    const fields: LogFields = {
      config: match.key,
      client,
      matchedBy: match.reason,
      identifier: match.identifier,
      via: identity.via,
      ...(uki.isDefault ? { defaultUki: true } : {}),
    };
    const body = JSON.stringify(httpBootAnswer(identity.identifiers, absoluteBootUrl(uki.ukiUrl, publicUrl), match.config.spec.systemUUID ?? ""));
    const answer: HttpBootAnswer = { body: new Blob([body]), publicUrl, configKey: match.key, client, fields };
    if (!uki.isDefault) answers.set(index, deps.store.index, memoKey, answer, clientAddress);
    return deliver(request, answer);
  }
}
