// /ipxe (first stage: chainload with the machine's identity) and /ipxe/{uuid} (second stage: the boot script).
import { type Context, Hono } from "hono";
import { canonicalMac, canonicalUuid } from "../api/canonical.ts";
import { httpBootIdentity } from "../boot/httpboot.ts";
import { type IpxeTemplate, renderChainloadScript, renderIpxeTemplate } from "../boot/ipxe-template.ts";
import { namespaceOf, resolveIpxeConfig } from "../boot/resolve.ts";
import { type AppEnv, absoluteBootUrl, type HttpDeps, publicUrlFor, textError } from "./context.ts";
import { noteIgnoredForwardedFor } from "./forwarded-for.ts";

const IPXE_HEADERS = { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" };

export function ipxeRoutes(deps: HttpDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  const chainload = (c: Context<AppEnv>): Response => {
    // A machine without an SMBIOS UUID chains to "/ipxe/?mac=…"; answering that with the chainload script again
    // would loop it forever, so a request carrying the identity query is already the second stage.
    if (c.req.query("mac") !== undefined || c.req.query("arch") !== undefined) return secondStage(c, "");
    const publicUrl = publicUrlFor(c, deps.settings);
    deps.onServed({ milestone: "ipxe-chainload", client: c.get("clientAddress"), path: c.req.path, at: new Date() });
    return c.body(renderChainloadScript(publicUrl), 200, IPXE_HEADERS);
  };

  const secondStage = (c: Context<AppEnv>, rawUuid: string): Response => {
    noteIgnoredForwardedFor(c, deps);
    const uuid = rawUuid === "" ? undefined : canonicalUuid(rawUuid);
    if (uuid === null) return textError(c, 400, `invalid machine UUID ${JSON.stringify(rawUuid)}`);
    const rawMac = c.req.query("mac");
    const mac = rawMac ? canonicalMac(rawMac) : null;
    if (rawMac && !mac) return textError(c, 400, `invalid mac query parameter ${JSON.stringify(rawMac)}`);
    // The common case is decided by the UUID alone; the client's addresses are worked out only on a miss.
    let networkIds: string[] = [];
    let match = uuid ? deps.store.index.ipxeByUuidLookup(uuid) : null;
    if (!match) {
      const identity = httpBootIdentity(c.get("clientAddress"), c.req.header("x-forwarded-for") ?? null, deps.settings.trustedProxies);
      networkIds = identity.ok ? identity.identifiers : [];
      match = resolveIpxeConfig(deps.store.index, {
        uuid,
        macs: [...(mac ? [mac] : []), ...networkIds.filter((id) => canonicalMac(id) !== null)],
        ips: networkIds.filter((id) => canonicalMac(id) === null),
      });
    }
    if (!match) {
      return textError(c, 404, `no IPXEBootConfig matches uuid ${uuid ?? "(none)"}, mac ${mac ?? "(none)"}, address ${networkIds.join(",") || "(unknown)"}`);
    }
    const { config } = match;
    const namespace = namespaceOf(config.metadata);
    let template: IpxeTemplate = deps.ipxeTemplate();
    const scriptRef = config.spec.ipxeScriptSecretRef?.name;
    if (scriptRef) {
      const entry = deps.store.index.secret(namespace, scriptRef);
      if (!entry) return textError(c, 404, `secret ${namespace}/${scriptRef} (ipxeScriptSecretRef of IPXEBootConfig ${match.key}) does not exist`);
      const outcome = deps.store.ipxeScripts.outcomeFor(entry);
      if (!outcome.ok) return textError(c, outcome.status, outcome.reason);
      template = outcome.template;
    }
    const publicUrl = publicUrlFor(c, deps.settings);
    const script = renderIpxeTemplate(template, {
      // Absent only with a custom script (the schema requires both otherwise), which may not use them.
      KernelURL: config.spec.kernelURL ? absoluteBootUrl(config.spec.kernelURL, publicUrl) : "",
      InitrdURL: config.spec.initrdURL ? absoluteBootUrl(config.spec.initrdURL, publicUrl) : "",
      SquashfsURL: config.spec.squashfsURL ? absoluteBootUrl(config.spec.squashfsURL, publicUrl) : "",
      IgnitionURL: `${publicUrl}/ignition/\${uuid}`,
      PublicURL: publicUrl,
      IPXEServerURL: publicUrl,
      SystemUUID: config.spec.systemUUID ?? uuid ?? "",
      ConfigName: config.metadata.name,
      ConfigNamespace: namespace,
    });
    const client = c.get("clientAddress");
    deps.onServed({ milestone: "ipxe-script", kind: "IPXEBootConfig", configKey: match.key, client, path: c.req.path, at: new Date() });
    deps.log.info("served iPXE script", { config: match.key, matchedBy: match.reason, identifier: match.identifier, client, custom: Boolean(scriptRef) });
    return c.body(script, 200, IPXE_HEADERS);
  };

  app.get("/ipxe", chainload);
  app.get("/ipxe/", chainload);
  app.get("/ipxe/:uuid", (c) => secondStage(c, c.req.param("uuid")));
  return app;
}
