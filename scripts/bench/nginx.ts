// nginx (Debian) serving the same UKI directory as the appliance's /uki/: the reference for bytes per second.
// Configured the way Debian ships it for static files (sendfile, tcp_nopush, one worker per core).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { eventually } from "../../test/harness/wait.ts";
import { spawnTracked, stopProcess } from "./processes.ts";

interface RunningNginx {
  url: string;
  /** The same location over TLS, when `tls` was given. */
  tlsUrl: string | undefined;
  stop(): Promise<void>;
}

export async function startNginx(
  nginx: string,
  options: { workDirectory: string; ukiDirectory: string; port: number; tls?: { port: number; cert: string; key: string } },
): Promise<RunningNginx> {
  const prefix = join(options.workDirectory, "nginx");
  await mkdir(join(prefix, "logs"), { recursive: true });
  const config = `
daemon off;
master_process on;
worker_processes auto;
pid ${join(prefix, "nginx.pid")};
error_log ${join(prefix, "logs", "error.log")} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${join(prefix, "client_body")};
  proxy_temp_path ${join(prefix, "proxy")};
  fastcgi_temp_path ${join(prefix, "fastcgi")};
  uwsgi_temp_path ${join(prefix, "uwsgi")};
  scgi_temp_path ${join(prefix, "scgi")};
  types { application/efi efi; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${options.port};
    location /uki/ { alias ${options.ukiDirectory}/; }
  }
${
  options.tls
    ? `  server {
    listen 127.0.0.1:${options.tls.port} ssl;
    ssl_certificate ${options.tls.cert};
    ssl_certificate_key ${options.tls.key};
    location /uki/ { alias ${options.ukiDirectory}/; }
  }`
    : ""
}
}
`;
  const configPath = join(prefix, "nginx.conf");
  await writeFile(configPath, config);
  // -e: the compiled-in error log (/var/log/nginx) is opened before the config is read.
  const child = spawnTracked([nginx, "-p", prefix, "-c", configPath, "-e", join(prefix, "logs", "error.log")], {
    logFile: join(prefix, "logs", "stderr.log"),
  });
  const url = `http://127.0.0.1:${options.port}`;
  await eventually(async () => Boolean(await fetch(`${url}/uki/`, { method: "HEAD" })), "nginx to start listening", {
    timeoutMs: 10_000,
    intervalMs: 20,
    abortIf: () => (child.exitCode !== null ? `nginx exited with ${child.exitCode}` : undefined),
    detail: () => Bun.file(join(prefix, "logs", "error.log")).text(),
  });
  return {
    url,
    tlsUrl: options.tls ? `https://127.0.0.1:${options.tls.port}` : undefined,
    async stop() {
      // The master stops its workers on SIGTERM; should it have to be SIGKILLed, the workers would outlive it.
      const workers = await childPids(child.pid);
      await stopProcess(child);
      for (const pid of workers) {
        // Only a process that is still one of our nginx workers (never a pid reused by something else).
        const stat = await Bun.file(`/proc/${pid}/stat`)
          .text()
          .catch(() => "");
        if (!stat.includes("(nginx)") || Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== 1) continue;
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone, as expected
        }
      }
    },
  };
}

async function childPids(pid: number): Promise<number[]> {
  const text = await Bun.file(`/proc/${pid}/task/${pid}/children`)
    .text()
    .catch(() => "");
  return text
    .split(/\s+/)
    .filter((part) => part !== "")
    .map(Number);
}
