// /httpboot: asked by the DHCP server for the UKI URL of a UEFI HTTP-booting machine.
import { Hono } from "hono";
import { httpBootAnswer, httpBootIdentity } from "../boot/httpboot.ts";
import { resolveHttpBootConfig } from "../boot/resolve.ts";
import { type AppEnv, absoluteBootUrl, type HttpDeps, publicUrlFor, textError } from "./context.ts";
import { noteIgnoredForwardedFor } from "./forwarded-for.ts";

export function httpBootRoutes(deps: HttpDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/httpboot", (c) => {
    const identity = httpBootIdentity(c.get("clientAddress"), c.req.header("x-forwarded-for") ?? null, deps.settings.trustedProxies);
    noteIgnoredForwardedFor(c, deps);
    if (!identity.ok) return textError(c, 400, identity.reason);
    const match = resolveHttpBootConfig(deps.store.index, identity.identifiers);
    const publicUrl = publicUrlFor(c, deps.settings);
    // A config without a UKI (absent or "", as the Go operator writes it) names the machine but not what it boots:
    // it gets the default UKI, with its own SystemUUID.
    const ukiUrl = match?.config.spec.ukiURL ?? deps.settings.defaultUkiUrl();
    if (!ukiUrl) {
      const reason = match
        ? `HTTPBootConfig ${match.key} has no ukiURL and no default UKI is configured`
        : `no HTTPBootConfig claims ${identity.identifiers.join(", ")} and no default UKI is configured`;
      return textError(c, 404, reason);
    }
    if (!match) {
      deps.log.info("served default UKI", { identifiers: identity.identifiers, via: identity.via });
      return c.json(httpBootAnswer(identity.identifiers, absoluteBootUrl(ukiUrl, publicUrl), ""));
    }
    deps.onServed({
      milestone: "httpboot",
      kind: "HTTPBootConfig",
      configKey: match.key,
      client: identity.identifiers[0] ?? identity.peer,
      path: c.req.path,
      at: new Date(),
    });
    deps.log.info("served httpboot answer", {
      config: match.key,
      matchedBy: match.reason,
      identifier: match.identifier,
      via: identity.via,
      ...(match.config.spec.ukiURL ? {} : { defaultUki: true }),
    });
    return c.json(httpBootAnswer(identity.identifiers, absoluteBootUrl(ukiUrl, publicUrl), match.config.spec.systemUUID ?? ""));
  });
  return app;
}
