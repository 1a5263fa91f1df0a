// Which metric names the monitoring manifests (alert rules, Grafana dashboard) refer to, and which a /metrics
// answer declares, so tests can prove that no alert or panel watches a metric the binary does not export.
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "./appliance.ts";

export const MONITORING_DIR = join(REPO_ROOT, "manifests/components/servicemonitor");
export const RULES_FILE = join(MONITORING_DIR, "boot-operator.rules.yaml");
export const RULES_TEST_FILE = join(MONITORING_DIR, "boot-operator.rules.test.yaml");
export const DASHBOARD_FILE = join(MONITORING_DIR, "grafana-dashboard.json");

/**
 * Referenced before the binary exports them, each with who adds it. A name here that /metrics declares is an
 * error in the tests: take it off the list once it lands.
 */
export const PENDING_METRICS: ReadonlyMap<string, string> = new Map<string, string>([]);

interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string }[];
}

interface Dashboard {
  panels: { id: number; title: string; datasource: { uid: string }; targets: { refId: string; expr: string }[] }[];
  templating: { list: { query?: string | { query: string } }[] };
}

export async function ruleGroups(): Promise<RuleGroup[]> {
  return (parse(await Bun.file(RULES_FILE).text()) as { groups: RuleGroup[] }).groups;
}

export async function dashboard(): Promise<Dashboard> {
  return (await Bun.file(DASHBOARD_FILE).json()) as Dashboard;
}

/** Our metric names in a PromQL expression (functions, labels and keywords never start with these prefixes). */
export function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\b(?:boot_operator|process)_[a-z0-9_]+\b/g)].map((match) => match[0]);
}

/** Every metric name the rules and the dashboard use, with where (for failure messages). */
export async function referencedMetricNames(): Promise<Map<string, string[]>> {
  const uses = new Map<string, string[]>();
  const add = (expr: string, where: string): void => {
    for (const name of metricNamesIn(expr)) uses.set(name, [...(uses.get(name) ?? []), where]);
  };
  for (const group of await ruleGroups()) for (const rule of group.rules) add(rule.expr, `rule ${rule.alert ?? rule.record}`);
  const board = await dashboard();
  for (const panel of board.panels) for (const target of panel.targets) add(target.expr, `panel "${panel.title}"`);
  for (const variable of board.templating.list) {
    const query = typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "");
    add(query, "dashboard variable");
  }
  return uses;
}

/** The series names a Prometheus text answer declares (# TYPE), a histogram's _bucket, _sum and _count included. */
export function declaredMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = "", type] = match;
    names.add(name);
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${name}${suffix}`);
  }
  return names;
}

/** Referenced names missing from `declared` (pending ones aside), and pending ones that are declared by now. */
export function compareNames(referenced: ReadonlyMap<string, string[]>, declared: ReadonlySet<string>): { missing: string[]; landed: string[] } {
  const missing = [...referenced]
    .filter(([name]) => !declared.has(name) && !PENDING_METRICS.has(name))
    .map(([name, where]) => `${name} (${[...new Set(where)].join(", ")})`);
  const landed = [...PENDING_METRICS.keys()].filter((name) => declared.has(name));
  return { missing, landed };
}
