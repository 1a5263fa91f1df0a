// valibot schema → Kubernetes structural OpenAPI v3 schema. The CRDs in manifests/crds/ are generated from the same
// schemas that validate resources at run time (scripts/generate-manifests.ts), so the two cannot drift.
import type { OpenApiHints } from "./formats.ts";

export interface JsonSchemaProps {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  properties?: Record<string, JsonSchemaProps>;
  required?: string[];
  items?: JsonSchemaProps;
  additionalProperties?: JsonSchemaProps;
  enum?: string[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  minimum?: number;
  "x-kubernetes-validations"?: { rule: string; message: string; fieldPath?: string; reason?: string }[];
  "x-kubernetes-list-type"?: "map" | "atomic" | "set";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

/** The parts of a valibot schema/action object this converter reads. */
interface SchemaNode {
  kind: "schema" | "validation" | "transformation" | "metadata";
  type: string;
  entries?: Record<string, SchemaNode>;
  wrapped?: SchemaNode;
  item?: SchemaNode;
  key?: SchemaNode;
  value?: SchemaNode;
  options?: readonly (SchemaNode | string)[];
  literal?: unknown;
  pipe?: readonly SchemaNode[];
  requirement?: unknown;
  metadata?: { openapi?: OpenApiHints };
  description?: string;
  message?: unknown;
}

/** The CEL rule list of `props`, created on first use. */
function validations(props: JsonSchemaProps): { rule: string; message: string }[] {
  const rules = props["x-kubernetes-validations"] ?? [];
  props["x-kubernetes-validations"] = rules;
  return rules;
}

function applyPipe(node: SchemaNode, props: JsonSchemaProps): void {
  const [root, ...actions] = node.pipe ?? [];
  // A pipe over a piped schema (a shared format given a field's description) keeps the inner checks in its root.
  if (root && root !== node && root.pipe) applyPipe(root, props);
  for (const action of actions) {
    switch (action.type) {
      case "regex": {
        // A CEL rule rather than `pattern`: the API server then rejects with our message, not the raw regex.
        const source = (action.requirement as RegExp).source;
        if (source.includes("'")) throw new Error(`regex ${source} cannot be embedded in a CEL raw string`);
        validations(props).push({ rule: `self.matches(r'${source}')`, message: String(action.message ?? `must match ${source}`) });
        break;
      }
      case "min_length":
        if (props.type === "string") props.minLength = action.requirement as number;
        break;
      case "max_length":
        if (props.type === "array") props.maxItems = action.requirement as number;
        else props.maxLength = action.requirement as number;
        break;
      case "min_value":
        props.minimum = action.requirement as number;
        break;
      case "integer":
        props.type = "integer";
        break;
      case "description":
        // valibot's description() always carries its text.
        if (action.description !== undefined) props.description = action.description;
        break;
      case "metadata": {
        const hints = action.metadata?.openapi;
        if (!hints) break;
        if (hints.pattern) props.pattern = hints.pattern;
        if (hints.maxLength !== undefined) props.maxLength = hints.maxLength;
        if (hints.maxItems !== undefined) props.maxItems = hints.maxItems;
        if (hints.format) props.format = hints.format;
        // Copies: one schema used by several fields would otherwise become YAML anchors in the generated CRD.
        if (hints.celRules) props["x-kubernetes-validations"] = [...(props["x-kubernetes-validations"] ?? []), ...hints.celRules.map((rule) => ({ ...rule }))];
        if (hints.listMapKeys) {
          props["x-kubernetes-list-type"] = "map";
          props["x-kubernetes-list-map-keys"] = hints.listMapKeys;
        }
        break;
      }
      default:
        // Checks written as code (check, transform) have no OpenAPI form; their metadata hints carry them.
        break;
    }
  }
}

export function toOpenApi(schemaLike: unknown): JsonSchemaProps {
  const node = schemaLike as SchemaNode;
  let props: JsonSchemaProps;
  switch (node.type) {
    case "object":
    case "strict_object":
    case "loose_object": {
      const properties: Record<string, JsonSchemaProps> = {};
      const required: string[] = [];
      for (const [name, child] of Object.entries(node.entries ?? {})) {
        const optional = child.type === "optional" || child.type === "exact_optional";
        properties[name] = toOpenApi(optional ? child.wrapped : child);
        if (!optional) required.push(name);
      }
      props = { type: "object", properties };
      if (required.length > 0) props.required = required;
      break;
    }
    case "optional":
    case "exact_optional":
      return toOpenApi(node.wrapped);
    case "array":
      props = { type: "array", items: toOpenApi(node.item) };
      break;
    case "record":
      props = { type: "object", additionalProperties: toOpenApi(node.value) };
      break;
    case "string":
      props = { type: "string" };
      break;
    case "number":
      props = { type: "number" };
      break;
    case "boolean":
      props = { type: "boolean" };
      break;
    case "picklist":
      props = { type: "string", enum: [...(node.options as string[])] };
      break;
    case "literal":
      props = { type: "string", enum: [String(node.literal)] };
      break;
    case "union": {
      // Only the string-or-Date timestamps are unions here; both serialise as strings.
      props = { type: "string" };
      break;
    }
    default:
      throw new Error(`no OpenAPI mapping for valibot schema type "${node.type}"`);
  }
  applyPipe(node, props);
  // Description first, as kubectl explain and controller-gen order it: the YAML reads like documentation.
  const { description, ...rest } = props;
  return description === undefined ? rest : { description, ...rest };
}
