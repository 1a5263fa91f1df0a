// Acting as a ServiceAccount against the test control plane: raw calls as admin or with a bearer token, TokenRequest,
// a kubeconfig for the token, and the checks that an identity was never refused. Shared by the RBAC tests.
import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import type { Appliance } from "../harness/appliance.ts";
import type { ControlPlane, HttpMethod } from "../harness/controlplane.ts";
import { eventually } from "../harness/wait.ts";

export interface ApiResponse {
  status: number;
  text: string;
  json: unknown;
  /** Warning headers (deprecations, Pod Security). */
  warnings: string[];
}

/** A request as the admin certificate (default) or as a bearer token. */
export async function apiCall(
  cp: ControlPlane,
  method: HttpMethod,
  path: string,
  options: { token?: string; body?: unknown; contentType?: string } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = options.contentType ?? (method === "PATCH" ? "application/merge-patch+json" : "application/json");
  const response = await fetch(`${cp.serverUrl}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) }),
    tls: options.token ? { ca: cp.tls.ca } : cp.tls,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const warning = response.headers.get("warning");
  return { status: response.status, text, json, warnings: warning ? [warning] : [] };
}

/** A one-hour token for the ServiceAccount, through the TokenRequest API (as the kubelet gets one). */
export async function requestServiceAccountToken(cp: ControlPlane, namespace: string, name: string): Promise<string> {
  const response = await apiCall(cp, "POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  if (response.status !== 201) throw new Error(`TokenRequest: ${response.status} ${response.text}`);
  return (response.json as { status: { token: string } }).status.token;
}

/** An HTTPS kubeconfig (CA data, bearer token) at `path`, as the binary would get in a pod. */
export async function writeTokenKubeconfig(cp: ControlPlane, token: string, path: string): Promise<string> {
  const cluster = { server: cp.serverUrl, "certificate-authority-data": Buffer.from(cp.tls.ca).toString("base64") };
  await writeFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "test", cluster }],
      users: [{ name: "service-account", user: { token } }],
      contexts: [{ name: "service-account", context: { cluster: "test", user: "service-account" } }],
      "current-context": "service-account",
    }),
    { mode: 0o600 },
  );
  return path;
}

/** Log lines of the binary that mention a refusal. */
export function forbiddenInLogs(app: Appliance): string[] {
  const lines = [...app.logs.map((line) => JSON.stringify(line)), ...app.rawStderr().split("\n")];
  return lines.filter((line) => /\b403\b|forbidden/i.test(line));
}

/**
 * Resolves once the leader has renewed its Lease (renewTime moved on): the binary has kept working after everything
 * a test did, so a refusal of that later work would be in its logs and in the API server's 403 count by now.
 */
export async function nextLeaseRenewal(cp: ControlPlane, namespace: string, name = "boot-operator-leader"): Promise<void> {
  const renewTime = async (): Promise<string> => {
    const response = await apiCall(cp, "GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`);
    if (response.status !== 200) throw new Error(`GET Lease ${namespace}/${name}: ${response.status}`);
    return (response.json as { spec?: { renewTime?: string } }).spec?.renewTime ?? "";
  };
  const before = await renewTime();
  await eventually(async () => (await renewTime()) !== before, `Lease ${namespace}/${name} renewed after ${before}`, 10_000);
}

/** The API server's own count of 403 answers so far. */
export async function forbiddenResponsesServed(cp: ControlPlane): Promise<number> {
  const metrics = (await apiCall(cp, "GET", "/metrics")).text;
  let total = 0;
  for (const line of metrics.split("\n")) {
    if (line.startsWith("apiserver_request_total{") && line.includes('code="403"')) total += Number(line.split(" ").at(-1));
  }
  return total;
}
