// What crosses the worker boundary for one custom iPXE script template: the source in, the parsed template (plain
// objects, structured-clone safe) or the formatted error out, so the serving thread never runs the parser.
import { type IpxeTemplate, parseIpxeTemplate } from "./ipxe-template.ts";

export interface ParseTemplateRequest {
  source: string;
}

export type ParsedTemplate = { ok: true; template: IpxeTemplate } | { ok: false; error: string };

export function runParseTemplateTask(request: ParseTemplateRequest): ParsedTemplate {
  try {
    return { ok: true, template: parseIpxeTemplate(request.source) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
