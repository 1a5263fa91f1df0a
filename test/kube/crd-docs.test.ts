// What `kubectl explain` and `kubectl get -o wide` show, asked of a real API server without kubectl: the group's
// published OpenAPI v3 carries our field descriptions, and server-side printing (the Table kubectl requests) has
// the wide columns with the values from the objects.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";
import { eventually } from "../harness/wait.ts";

const NS = "docs";
const GROUP_PATH = "/apis/boot.ironcore.dev/v1alpha1";
const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io";

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
}
interface OpenApiDocument {
  components?: { schemas?: Record<string, SchemaNode> };
}
interface Table {
  columnDefinitions: { name: string; priority: number }[];
  rows: { cells: unknown[]; object: { metadata: { name: string } } }[];
}

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane({ crdPaths: BOOT_CRD_PATHS });
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await cp.requestOk("POST", `${GROUP_PATH}/namespaces/${NS}/ipxebootconfigs`, {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "IPXEBootConfig",
    metadata: { name: "m1" },
    spec: { systemIPs: ["10.0.0.7"], kernelURL: "http://files/vmlinuz", initrdURL: "http://files/initrd" },
  });
  await cp.requestOk("POST", `${GROUP_PATH}/namespaces/${NS}/httpbootconfigs`, {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "HTTPBootConfig",
    metadata: { name: "h1" },
    spec: { networkIdentifiers: ["52:54:00:aa:bb:01"], ukiURL: "http://files/os.efi" },
  });
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

/** A GET with our own Accept header (the harness's request() always asks for plain JSON). */
async function getAs(path: string, accept: string): Promise<unknown> {
  const response = await fetch(`${cp.serverUrl}${path}`, { headers: { accept }, tls: cp.tls, signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${(await response.text()).slice(0, 500)}`);
  return response.json();
}

describe("kubectl explain: the API server publishes our descriptions", () => {
  test.each([
    ["IPXEBootConfig", ["kernelURL", "initrdURL", "ipxeScriptSecretRef", "kernelArgs", "systemIPs"]],
    ["HTTPBootConfig", ["ukiURL", "networkIdentifiers", "systemUUID"]],
  ])("%s.spec", async (kind, fields) => {
    // The OpenAPI aggregator picks a new CRD up asynchronously.
    const schema = await eventually(async () => {
      const document = (await getAs(`/openapi/v3${GROUP_PATH}`, "application/json")) as OpenApiDocument;
      return document.components?.schemas?.[`dev.ironcore.boot.v1alpha1.${kind}`];
    }, `${kind} in /openapi/v3${GROUP_PATH}`);
    expect(schema.description).toStartWith("What a machine booting with");
    const spec = schema.properties?.spec;
    expect(spec?.description ?? "").not.toBe("");
    for (const field of fields) expect(spec?.properties?.[field]?.description ?? `${field}: <empty>`).not.toEndWith("<empty>");
    expect(schema.properties?.status?.properties?.state?.description).toContain("Ready:");
  });
});

describe("kubectl get -o wide: server-side printing has the wide columns", () => {
  test.each([
    ["ipxebootconfigs", { IPs: "10.0.0.7", Kernel: "http://files/vmlinuz" }],
    ["httpbootconfigs", { Identifiers: "52:54:00:aa:bb:01", UKI: "http://files/os.efi" }],
  ])("%s", async (plural, expected: Record<string, string>) => {
    const table = (await getAs(`${GROUP_PATH}/namespaces/${NS}/${plural}`, TABLE)) as Table;
    const columns = table.columnDefinitions.map((column) => column.name);
    expect(columns).toEqual(expect.arrayContaining(["Name", "State", "UUID", "Age", ...Object.keys(expected)]));
    const row = table.rows[0];
    expect(row).toBeDefined();
    for (const [name, value] of Object.entries(expected)) {
      const index = columns.indexOf(name);
      // Priority 1: kubectl shows the column only with -o wide.
      expect(table.columnDefinitions[index]?.priority).toBe(1);
      expect(String(row?.cells[index])).toContain(value);
    }
  });
});
