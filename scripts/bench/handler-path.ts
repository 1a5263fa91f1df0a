// `bun scripts/bench/handler-path.ts [--machines N] [--requests N] [--only NAME] [--record kube|dir|none]`: the in-process cost of the hot boot routes,
// without sockets or wrk: the real app (every family, the middleware) on a directory-loaded fleet, driven with
// web-standard Requests. A quick, low-noise view of what the server's CPU per request is made of; the boot-storm
// bench (scripts/bench.ts) stays the judge.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { BunRequest, Server } from "bun";
import { parseCidr } from "../../src/api/canonical.ts";
import { BootTimelines } from "../../src/boot/boot-timeline.ts";
import { DEFAULT_IPXE_TEMPLATE, parseIpxeTemplate } from "../../src/boot/ipxe-template.ts";
import { BootStore } from "../../src/boot/store.ts";
import { servedRecorder } from "../../src/cli/serve.ts";
import { ServedStatusWriter } from "../../src/controllers/served-status.ts";
import { createApp } from "../../src/http/app.ts";
import type { HttpDeps } from "../../src/http/context.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import { createLogger } from "../../src/observability/log.ts";
import { createBootMetrics } from "../../src/observability/metrics.ts";
import { parseRegistryAllowList } from "../../src/oci/allowlist.ts";
import { OciClient } from "../../src/oci/client.ts";
import { loadDirectoryOnce } from "../../src/sources/files/directory-source.ts";
import type { KubeSource } from "../../src/sources/kube/kube-source.ts";
import { fleet, writeFleetDirectory } from "./machines.ts";

const { values } = parseArgs({
  options: {
    record: { type: "string" },
    machines: { type: "string", default: "10000" },
    requests: { type: "string", default: "200000" },
    only: { type: "string" },
  },
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
const metrics = createBootMetrics();
const log = createLogger("info", (line) => {
  logBytes += line.length;
  if (process.env.SHOW_LOG) console.error(line.slice(0, 200));
});
// What serve wires behind onServed: the milestone counter, the boot timeline and, in Kubernetes mode, the served
// status recorder (its writes never start here: only the hot-path record is measured).
const timelines = new BootTimelines();
const writer = new ServedStatusWriter({ client: {} as unknown as KubeClient, source: {} as unknown as KubeSource, log, timelines, flushIntervalMs: 3_600_000 });
const recording = values.record ?? "kube"; // kube: timeline + status recorder; dir: timeline only; none: nothing recorded
const served =
  recording === "none" ? undefined : servedRecorder(metrics, timelines, recording === "kube" ? (event, timeline) => writer.record(event, timeline) : undefined);
const deps: HttpDeps = {
  store,
  settings: { publicUrl: "http://127.0.0.1:8082", trustedProxies: [trusted], defaultUkiUrl: () => undefined, ukiDir: undefined },
  ipxeTemplate: () => template,
  metrics,
  log,
  onServed: served?.record ?? (() => {}),
  ...(served ? { onServedRepeat: served.repeated } : {}),
  imageProxy: {
    client: new OciClient({ requestTimeoutMs: 2_000 }),
    allowList: parseRegistryAllowList("registry.test"),
    isReferenced: () => true,
    log: () => {},
  },
};
const app = createApp(deps);
const server = { requestIP: () => ({ address: "127.0.0.1", family: "IPv4" as const, port: 40_000 }) } as unknown as Server<undefined>;
// The production dispatch: the table on Bun's native router (the request carries the route's params, as Bun's does).
const native = app.nativeRoutes((request, env) => app.fetch(request, env));
const handler = (request: Request, env: Server<undefined>): Response | Promise<Response> => {
  const path = request.url.slice(request.url.indexOf("/", 8)).split("?")[0] ?? "/";
  const pattern = path.startsWith("/ipxe/") ? "/ipxe/:uuid" : path.startsWith("/ignition/") ? "/ignition/:uuid" : path;
  const route = native[pattern]?.GET;
  if (!route) return app.fetch(request, env);
  const params = pattern.endsWith(":uuid") ? { uuid: path.slice(path.lastIndexOf("/") + 1) } : {};
  return route(Object.assign(request, { params }) as unknown as BunRequest, env);
};

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
