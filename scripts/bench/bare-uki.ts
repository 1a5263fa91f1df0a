// The floor for /uki downloads on Bun: Bun.serve answering from Bun.file (whole file, or one slice for a Range),
// nothing else. Takes the appliance's `serve` flags that uki-compare.ts passes (--uki-dir, --listen), ignores the rest.
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { "uki-dir": { type: "string" }, listen: { type: "string" } }, strict: false, allowPositionals: true });
const [hostname = "127.0.0.1", port = "0"] = String(values.listen).split(":");
const root = String(values["uki-dir"]);
Bun.serve({
  hostname,
  port: Number(port),
  routes: {
    "/readyz": new Response("ok\n"),
    "/uki/*": (request) => {
      const file = Bun.file(`${root}/${new URL(request.url).pathname.slice("/uki/".length)}`);
      const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.get("range") ?? "");
      if (!range) return new Response(file);
      const start = Number(range[1]);
      const end = Number(range[2]);
      return new Response(file.slice(start, end + 1), { status: 206, headers: { "Content-Range": `bytes ${start}-${end}/${file.size}` } });
    },
  },
  fetch: () => new Response("not found\n", { status: 404 }),
});
