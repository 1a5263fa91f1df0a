// GET|HEAD /uki/{path}: boot artefacts (UKIs, kernels, initrds) from --uki-dir.
import { Hono } from "hono";
import { type AppEnv, type HttpDeps, textError } from "./context.ts";
import { resolveInside, serveFile } from "./static-files.ts";

const MOUNT = "/uki/";

export function ukiRoutes(deps: HttpDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.on(["GET", "HEAD"], "/uki/*", async (c) => {
    const root = deps.settings.ukiDir;
    if (!root) return textError(c, 404, "no --uki-dir is configured on this appliance");
    // The raw (still percent-encoded) path: decoding happens once, per segment, in resolveInside.
    const rawPath = new URL(c.req.url).pathname;
    if (!rawPath.startsWith(MOUNT)) return textError(c, 404, "not under /uki/");
    const resolved = await resolveInside(root, rawPath.slice(MOUNT.length));
    if (!resolved.ok) return textError(c, resolved.status, resolved.reason);
    const response = await serveFile(c.req.raw, resolved.absolute);
    if (c.req.method === "GET" && (response.status === 200 || response.status === 206)) {
      const client = c.get("clientAddress");
      deps.onServed({ milestone: "boot-file", client, path: rawPath, at: new Date() });
      deps.log.info("serving boot file", { path: rawPath, status: response.status, bytes: Number(response.headers.get("content-length")), client });
    }
    return response;
  });
  return app;
}
