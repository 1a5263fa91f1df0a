// The ceiling for a Bun route on this machine: Bun.serve whose fetch handler returns a constant body and does
// nothing else. Usage: bun scripts/bench/bare-server.ts PORT BODY_FILE (the body is a real iPXE answer, so both
// sides send the same bytes).
export {};

const [portText, bodyFile] = process.argv.slice(2);
if (!portText || !bodyFile) {
  console.error("usage: bare-server.ts PORT BODY_FILE");
  process.exit(2);
}
const body = await Bun.file(bodyFile).text();
const headers = { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" };
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(portText),
  fetch: () => new Response(body, { headers }),
});
console.error(`bare Bun.serve ${Bun.version} on 127.0.0.1:${portText}, ${body.length}-byte body`);
