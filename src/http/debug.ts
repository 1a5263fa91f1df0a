// GET /debug/machines and /debug/machines/{uuid}: the boot timelines (read-only JSON), so an operator can see how far
// a machine got without Kubernetes (directory mode keeps them only in memory). They name machines and addresses, so
// cli/serve.ts gives the timelines only to the app behind the side listeners, whose metrics listener alone lets
// /debug through: the boot port machines reach answers 404.
import { canonicalUuid } from "../api/canonical.ts";
import { bootProgress, type ConfigKind, type ConfigTimeline, lastBootStatus, stalledReason } from "../boot/boot-timeline.ts";
import type { DebugDeps, HttpDeps } from "./context.ts";
import { type EndpointFamily, queryOf, textError } from "./routes.ts";

const JSON_HEADERS = { "Content-Type": "application/json", "Cache-Control": "no-store" };
const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;

interface ConfigView {
  kind: ConfigKind;
  config: string;
  expectsIgnition: boolean;
}

function describeTimeline(view: ConfigView, timeline: ConfigTimeline | undefined, debug: DebugDeps, now: number): Record<string, unknown> {
  const boot = timeline?.boot;
  const progress = boot ? bootProgress(boot, now, { stallAfterMs: debug.stallAfterMs, expectsIgnition: view.expectsIgnition }) : undefined;
  return {
    kind: view.kind,
    config: view.config,
    lastBoot: boot ? (lastBootStatus(boot) ?? null) : null,
    progress: progress
      ? {
          state: progress.state,
          lastMilestone: progress.lastMilestone.name,
          ...(progress.state === "Stalled" ? { reason: stalledReason(progress.lastMilestone.name) } : {}),
          ...(progress.stallsAt ? { stallsAt: new Date(progress.stallsAt).toISOString() } : {}),
        }
      : null,
  };
}

function json(body: unknown, status: 200 | 404 = 200): Response {
  return new Response(`${JSON.stringify(body, null, 2)}\n`, { status, headers: JSON_HEADERS });
}

export function debugFamily(deps: Pick<HttpDeps, "store" | "debug">): EndpointFamily {
  const expectsIgnition = (kind: ConfigKind, key: string): boolean => {
    const index = deps.store.index;
    const config = kind === "IPXEBootConfig" ? index.ipxeByKey.get(key) : index.httpByKey.get(key);
    return Boolean(config?.spec.ignitionSecretRef?.name);
  };
  // Only the metrics listener's app is given the timelines (cli/serve.ts); the boot port answers this.
  const unavailable = (): Response => textError(404, "/debug is served only on the metrics listener (--metrics-bind-address)");
  return {
    name: "debug",
    routes: [
      {
        path: "/debug/machines",
        methods: ["GET", "HEAD"],
        handler: (request) => {
          const debug = deps.debug;
          if (!debug) return unavailable();
          const asked = Number(queryOf(request.url)?.get("limit") ?? DEFAULT_LIST_LIMIT);
          const limit = Number.isInteger(asked) && asked > 0 ? Math.min(asked, MAX_LIST_LIMIT) : DEFAULT_LIST_LIMIT;
          const now = Date.now();
          const timelines = debug.timelines.list(limit);
          return json({
            machines: timelines.map((timeline) => {
              const config = timeline.kind === "IPXEBootConfig" ? deps.store.index.ipxeByKey.get(timeline.key) : deps.store.index.httpByKey.get(timeline.key);
              return {
                systemUUID: config?.spec.systemUUID ?? null,
                ...describeTimeline(
                  { kind: timeline.kind, config: timeline.key, expectsIgnition: expectsIgnition(timeline.kind, timeline.key) },
                  timeline,
                  debug,
                  now,
                ),
              };
            }),
            total: debug.timelines.size,
            truncated: debug.timelines.size > timelines.length,
            unattributedFetches: debug.timelines.stats.unattributed,
          });
        },
      },
      {
        path: "/debug/machines/:uuid",
        methods: ["GET", "HEAD"],
        handler: (_request, { params }) => {
          const debug = deps.debug;
          if (!debug) return unavailable();
          const raw = params.uuid ?? "";
          const uuid = canonicalUuid(raw);
          if (!uuid) return textError(400, `invalid machine UUID ${JSON.stringify(raw)}`);
          const index = deps.store.index;
          const matches: { kind: ConfigKind; key: string }[] = [];
          const ipxe = index.ipxeByUuidLookup(uuid);
          if (ipxe) matches.push({ kind: "IPXEBootConfig", key: ipxe.key });
          const http = index.httpByUuidLookup(uuid);
          if (http) matches.push({ kind: "HTTPBootConfig", key: http.key });
          if (matches.length === 0) return json({ uuid, error: `no IPXEBootConfig or HTTPBootConfig has systemUUID ${uuid}` }, 404);
          const now = Date.now();
          return json({
            uuid,
            configs: matches.map((match) =>
              describeTimeline(
                { kind: match.kind, config: match.key, expectsIgnition: expectsIgnition(match.kind, match.key) },
                debug.timelines.get(match.kind, match.key),
                debug,
                now,
              ),
            ),
          });
        },
      },
    ],
  };
}

/** The paths this family serves: let through by the metrics listener only (see cli/serve.ts). */
export function isDebugPath(path: string): boolean {
  return path === "/debug" || path.startsWith("/debug/");
}
