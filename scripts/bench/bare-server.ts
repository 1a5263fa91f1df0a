// The ceiling for a Bun route on this machine: Bun.serve whose fetch handler returns a constant body and does
// nothing else. Usage: bun scripts/bench/bare-server.ts PORT BODY_FILE [floor] (the body is a real iPXE answer, so
// both sides send the same bytes).
// With "floor" the handler first reads what every boot route must read before it can choose an answer: the peer
// address (whom to trust for X-Forwarded-For, whom to record), the path, Content-Length (an oversized body is
// refused) and X-Forwarded-For. That is the least a boot route can cost; the table shows it beside the ceiling.
export {};

const [portText, bodyFile, mode] = process.argv.slice(2);
if (!portText || !bodyFile || (mode !== undefined && mode !== "floor")) {
  console.error("usage: bare-server.ts PORT BODY_FILE [floor]");
  process.exit(2);
}
const body = await Bun.file(bodyFile).text();
const headers = { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" };
let seen = 0; // what the floor read goes somewhere, so no engine can drop the reads
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(portText),
  fetch:
    mode === "floor"
      ? (request, server) => {
          const peer = server.requestIP(request)?.address ?? "";
          const url = request.url;
          const length = request.headers.get("content-length");
          const forwardedFor = request.headers.get("x-forwarded-for");
          seen += peer.length + url.length + (length?.length ?? 0) + (forwardedFor?.length ?? 0);
          return new Response(body, { headers });
        }
      : () => new Response(body, { headers }),
});
process.on("SIGTERM", () => {
  console.error(`read ${seen} characters`);
  process.exit(0);
});
console.error(`bare Bun.serve ${Bun.version}${mode === "floor" ? " (floor reads)" : ""} on 127.0.0.1:${portText}, ${body.length}-byte body`);
