// /httpboot: asked by the DHCP server for the UKI URL of a UEFI HTTP-booting machine.
import { Hono } from "hono";
import { httpBootAnswer, httpBootIdentity } from "../boot/httpboot.ts";
import { resolveHttpBootConfig } from "../boot/resolve.ts";
import { type AppEnv, absoluteBootUrl, type HttpDeps, publicUrlFor, textError } from "./context.ts";

export function httpBootRoutes(deps: HttpDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/httpboot", (c) => {
    const identity = httpBootIdentity(c.get("clientAddress"), c.req.header("x-forwarded-for") ?? null, deps.settings.trustedProxies);
    if (!identity.ok) return textError(c, 400, identity.reason);
    const match = resolveHttpBootConfig(deps.store.index, identity.identifiers);
    const publicUrl = publicUrlFor(c, deps.settings);
    if (!match) {
      const defaultUki = deps.settings.defaultUkiUrl();
      if (!defaultUki) {
        return textError(c, 404, `no HTTPBootConfig claims ${identity.identifiers.join(", ")} and no default UKI is configured`);
      }
      deps.log.info("served default UKI", { identifiers: identity.identifiers, via: identity.via });
      return c.json(httpBootAnswer(identity.identifiers, absoluteBootUrl(defaultUki, publicUrl), ""));
    }
    const ukiUrl = match.config.spec.ukiURL;
    if (!ukiUrl) return textError(c, 404, `HTTPBootConfig ${match.key} has no ukiURL`);
    deps.onServed({ milestone: "httpboot", kind: "HTTPBootConfig", configKey: match.key, client: identity.identifiers[0], path: c.req.path, at: new Date() });
    deps.log.info("served httpboot answer", { config: match.key, matchedBy: match.reason, identifier: match.identifier, via: identity.via });
    return c.json(httpBootAnswer(identity.identifiers, absoluteBootUrl(ukiUrl, publicUrl), match.config.spec.systemUUID ?? ""));
  });
  return app;
}
