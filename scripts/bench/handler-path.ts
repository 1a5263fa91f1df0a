// `bun scripts/bench/handler-path.ts [--machines N] [--requests N]`: the in-process cost of the hot boot routes,
// without sockets or wrk: the real app (every family, the middleware) on a directory-loaded fleet, driven with
// web-standard Requests. A quick, low-noise view of what the server's CPU per request is made of; the boot-storm
// bench (scripts/bench.ts) stays the judge.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseCidr } from "../../src/api/canonical.ts";
import { DEFAULT_IPXE_TEMPLATE, parseIpxeTemplate } from "../../src/boot/ipxe-template.ts";
import { BootStore } from "../../src/boot/store.ts";
import { createApp } from "../../src/http/app.ts";
import type { HttpDeps } from "../../src/http/context.ts";
import { createLogger } from "../../src/observability/log.ts";
import { createBootMetrics } from "../../src/observability/metrics.ts";
import { parseRegistryAllowList } from "../../src/oci/allowlist.ts";
import { OciClient } from "../../src/oci/client.ts";
import { loadDirectoryOnce } from "../../src/sources/files/directory-source.ts";
import { fleet, writeFleetDirectory } from "./machines.ts";

const { values } = parseArgs({
  options: { machines: { type: "string", default: "10000" }, requests: { type: "string", default: "200000" }, only: { type: "string" } },
});
const machines = fleet(Number(values.machines));
const requests = Number(values.requests);
const directory = await mkdtemp(join(tmpdir(), "handler-path-"));
await writeFleetDirectory(directory, machines);
const store = new BootStore();
store.apply(await loadDirectoryOnce(directory));
await rm(directory, { recursive: true, force: true });

const trusted = parseCidr("127.0.0.1/32");
if (!trusted) throw new Error("bad CIDR");
let logBytes = 0;
const template = parseIpxeTemplate(DEFAULT_IPXE_TEMPLATE);
const deps: HttpDeps = {
  store,
  settings: { publicUrl: "http://127.0.0.1:8082", trustedProxies: [trusted], defaultUkiUrl: () => undefined, ukiDir: undefined },
  ipxeTemplate: () => template,
  metrics: createBootMetrics(),
  log: createLogger("info", (line) => {
    logBytes += line.length;
  }),
  onServed: () => {},
  imageProxy: {
    client: new OciClient({ requestTimeoutMs: 2_000 }),
    allowList: parseRegistryAllowList("registry.test"),
    isReferenced: () => true,
    log: () => {},
  },
};
const app = createApp(deps);
const handler = (request: Request, env: typeof server): Response | Promise<Response> => app.fetch(request, env);
const server = { requestIP: () => ({ address: "127.0.0.1", family: "IPv4" as const, port: 40_000 }) };

type Case = { name: string; request: (index: number) => Request };
const raw = machines.filter((machine) => machine.ignitionFormat === "ignition");
const cases: Case[] = [
  { name: "bare new Response", request: () => new Request("http://127.0.0.1:8082/ipxe/x") },
  { name: "/ipxe/{uuid}", request: (i) => new Request(`http://127.0.0.1:8082/ipxe/${machines[i % machines.length]?.uuid}`) },
  { name: "/ignition/{uuid} raw", request: (i) => new Request(`http://127.0.0.1:8082/ignition/${raw[i % raw.length]?.uuid}`) },
  {
    name: "/httpboot XFF ip, mac",
    request: (i) => {
      const machine = machines[i % machines.length];
      return new Request("http://127.0.0.1:8082/httpboot", { headers: { "X-Forwarded-For": `${machine?.ip}, ${machine?.mac}` } });
    },
  },
];
for (const { name, request } of cases.filter((entry) => !values.only || entry.name.includes(values.only))) {
  const run = async (count: number): Promise<number> => {
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      // Built inside the loop for every case, the bare one too: Request construction is part of each figure.
      const source = request(i);
      const response = name.startsWith("bare") ? new Response("#!ipxe\n") : await handler(source, server);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${name}: ${response.status} ${await response.text()}`);
    }
    return ((performance.now() - started) * 1000) / count;
  };
  await run(Math.min(requests, 20_000));
  Bun.gc(true);
  const cpuBefore = process.cpuUsage();
  const micros = await run(requests);
  const cpu = process.cpuUsage(cpuBefore);
  console.log(`${name.padEnd(24)} ${micros.toFixed(2)} µs/request wall, ${((cpu.user + cpu.system) / requests).toFixed(2)} µs CPU`);
}
console.log(`log: ${(logBytes / (requests * 3)).toFixed(1)} bytes/request`);
