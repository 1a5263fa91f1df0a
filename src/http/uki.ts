// GET|HEAD /uki/{path}: boot artefacts (UKIs, kernels, initrds) from --uki-dir.
import type { HttpDeps } from "./context.ts";
import { type EndpointFamily, textError } from "./routes.ts";
import { servedLogFor } from "./served-log.ts";
import { contentTypeFor, OpenFileCache, parseSubPath, realPathInside, serveFile } from "./static-files.ts";

const MOUNT = "/uki/";

export function ukiFamily(deps: Pick<HttpDeps, "settings" | "onServed" | "log">): EndpointFamily {
  const served = servedLogFor(deps.log);
  // Per app: the descriptors of files already opened and checked, so repeat downloads skip the open and checks.
  const opened = new OpenFileCache();
  /** Reports a download (GET with a body: 200 or 206) and passes the answer on. */
  const reported = (request: Request, response: Response, rawPath: string, clientAddress: string): Response => {
    if (request.method === "GET" && (response.status === 200 || response.status === 206)) {
      deps.onServed({ milestone: "boot-file", client: clientAddress, path: rawPath, at: new Date() });
      served.success("serving boot file", "/uki/*", rawPath, clientAddress, () => ({
        path: rawPath,
        status: response.status,
        bytes: Number(response.headers.get("content-length")),
        client: clientAddress,
      }));
    }
    return response;
  };
  /** The full path: real path inside the root, open, check, and keep the descriptor for the next request. */
  const fromDisk = async (request: Request, root: string, segments: readonly string[]): Promise<Response> => {
    const resolved = await realPathInside(root, segments);
    if (!resolved.ok) return textError(resolved.status, resolved.reason);
    return serveFile(request, root, resolved.absolute, { cache: opened, segments });
  };
  return {
    name: "uki",
    routes: [
      {
        path: "/uki/*",
        methods: ["GET", "HEAD"],
        download: true,
        // Synchronous when the kept descriptor answers: no promise on the path of a repeat download.
        handler: (request, { clientAddress }) => {
          const root = deps.settings.ukiDir;
          // The raw (still percent-encoded) path: decoding happens once, per segment, in parseSubPath.
          const rawPath = new URL(request.url).pathname;
          if (!root) {
            const builtIn = deps.settings.builtInBootFiles?.get(rawPath.slice(MOUNT.length));
            if (builtIn === undefined) return textError(404, "no --uki-dir is configured on this appliance");
            if (request.method === "GET") deps.onServed({ milestone: "boot-file", client: clientAddress, path: rawPath, at: new Date() });
            const headers = { "Content-Type": contentTypeFor(rawPath), "Content-Length": String(Buffer.byteLength(builtIn)), "Cache-Control": "no-store" };
            return new Response(request.method === "HEAD" ? null : builtIn, { headers });
          }
          if (!rawPath.startsWith(MOUNT)) return textError(404, "not under /uki/");
          const parsed = parseSubPath(rawPath.slice(MOUNT.length));
          if (!parsed.ok) return textError(parsed.status, parsed.reason);
          const kept = opened.answer(request, root, parsed.segments);
          if (kept !== null) return reported(request, kept, rawPath, clientAddress);
          return fromDisk(request, root, parsed.segments).then((response) => reported(request, response, rawPath, clientAddress));
        },
      },
    ],
  };
}
