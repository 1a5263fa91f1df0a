// /httpboot: asked by the DHCP server for the UKI URL of a UEFI HTTP-booting machine.
import { httpBootAnswer, httpBootIdentity } from "../boot/httpboot.ts";
import { resolveHttpBootConfig } from "../boot/resolve.ts";
import { httpBootServability } from "../boot/servability.ts";
import { absoluteBootUrl, type HttpDeps, publicUrlFor } from "./context.ts";
import { noteIgnoredForwardedFor, withNotice } from "./forwarded-for.ts";
import { type EndpointFamily, rawPathOf, textError } from "./routes.ts";
import { servedLogFor } from "./served-log.ts";

/** Hono's c.json() header, kept so the answer is byte-for-byte what the DHCP integration has always seen. */
const JSON_HEADERS = { "Content-Type": "application/json" };

export function httpBootFamily(deps: HttpDeps): EndpointFamily {
  const served = servedLogFor(deps.log);
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
    const identity = httpBootIdentity(clientAddress, request.headers.get("x-forwarded-for"), deps.settings.trustedProxies, deps.settings.forwardedFor);
    if (!identity.ok) return textError(400, identity.reason);
    const match = resolveHttpBootConfig(deps.store.index, identity.identifiers);
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
    deps.onServed({ milestone: "httpboot", kind: "HTTPBootConfig", configKey: match.key, client, path: rawPathOf(request.url), at: new Date() });
    served.success("served httpboot answer", "/httpboot", match.key, client, () => ({
      config: match.key,
      client,
      matchedBy: match.reason,
      identifier: match.identifier,
      via: identity.via,
      ...(uki.isDefault ? { defaultUki: true } : {}),
    }));
    const answer = httpBootAnswer(identity.identifiers, absoluteBootUrl(uki.ukiUrl, publicUrl), match.config.spec.systemUUID ?? "");
    return new Response(JSON.stringify(answer), { headers: JSON_HEADERS });
  }
}
