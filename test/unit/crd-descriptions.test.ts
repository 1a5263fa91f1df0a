// `kubectl explain` prints a CRD's descriptions: every property of the generated CRDs must have one, so no field
// reads `<empty>`. The API server's side (its published OpenAPI) is in test/kube/crd-docs.test.ts.
import { describe, expect, test } from "bun:test";
import { BOOT_CRDS, crdFor } from "../../src/api/crds.ts";
import type { JsonSchemaProps } from "../../src/api/openapi.ts";

/** Dotted paths of the schema nodes (properties, array items, map values) that have no description. */
function undescribed(schema: JsonSchemaProps, path: string): string[] {
  const missing = (schema.description ?? "").trim() === "" ? [path] : [];
  for (const [name, child] of Object.entries(schema.properties ?? {})) missing.push(...undescribed(child, `${path}.${name}`));
  if (schema.items) missing.push(...undescribed(schema.items, `${path}[]`));
  if (schema.additionalProperties) missing.push(...undescribed(schema.additionalProperties, `${path}{}`));
  return missing;
}

interface GeneratedCrd {
  spec: { names: { kind: string }; versions: { schema: { openAPIV3Schema: JsonSchemaProps } }[] };
}

describe("generated CRDs document every field", () => {
  test.each(BOOT_CRDS.map((definition) => [definition.kind, definition] as const))("%s", (_kind, definition) => {
    const crd = crdFor(definition) as unknown as GeneratedCrd;
    const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
    expect(schema).toBeDefined();
    // metadata is the one exception: the API server rejects a CRD that says more than its type, and describes it itself.
    if (schema) expect(undescribed(schema, crd.spec.names.kind)).toEqual([`${crd.spec.names.kind}.metadata`]);
  });

  test("a field's description does not cost it its checks (a shared format wrapped to describe it)", () => {
    const crd = crdFor(BOOT_CRDS[0] as (typeof BOOT_CRDS)[number]) as unknown as GeneratedCrd;
    const kernel = crd.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec?.properties?.kernelURL;
    expect(kernel?.description).toContain("Kernel");
    expect(kernel?.maxLength).toBe(2048);
    expect(kernel?.["x-kubernetes-validations"]?.[0]?.rule).toContain("self.matches");
  });
});
