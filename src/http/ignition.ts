// /ignition/{uuid}: the machine's Ignition config, Butane translated once per secret version.
import { Hono } from "hono";
import { canonicalUuid } from "../api/canonical.ts";
import { ignitionForConfig } from "../boot/ignition.ts";
import { namespaceOf, resolveIgnitionConfig } from "../boot/resolve.ts";
import { type AppEnv, type HttpDeps, textError } from "./context.ts";

export function ignitionRoutes(deps: HttpDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/ignition/:uuid", (c) => {
    const raw = c.req.param("uuid");
    const uuid = canonicalUuid(raw);
    if (!uuid) return textError(c, 400, `invalid machine UUID ${JSON.stringify(raw)}`);
    const resolved = resolveIgnitionConfig(deps.store.index, uuid);
    if (!resolved) return textError(c, 404, `no IPXEBootConfig or HTTPBootConfig has systemUUID ${uuid}`);
    const { config, key } = resolved.match;
    const outcome = ignitionForConfig(deps.store.index, deps.store.ignition, {
      kind: resolved.kind,
      key,
      namespace: namespaceOf(config.metadata),
      secretName: config.spec.ignitionSecretRef?.name,
    });
    if (!outcome.ok) {
      if (outcome.status === 500) deps.log.warn("cannot serve ignition", { config: key, reason: outcome.reason });
      return textError(c, outcome.status, outcome.reason);
    }
    const client = c.get("clientAddress");
    deps.onServed({ milestone: "ignition", kind: resolved.kind, configKey: key, client, path: c.req.path, at: new Date() });
    deps.log.info("served ignition", { config: key, kind: resolved.kind, format: outcome.format, client });
    return c.body(outcome.json, 200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  });
  return app;
}
