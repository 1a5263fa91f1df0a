// A custom iPXE script comes from a Secret (up to 1 MiB) and is parsed on the serving thread, so parsing must be
// linear whatever the text (issue #16 §2): `{{` without `}}` and deep {{if}} nesting are the shapes that are not.
import { describe, expect, test } from "bun:test";
import { MAX_IF_DEPTH, parseIpxeTemplate, renderIpxeTemplate, TemplateError } from "../../src/boot/ipxe-template.ts";

const DATA = {
  KernelURL: "K",
  InitrdURL: "I",
  SquashfsURL: "",
  KernelArgs: "",
  IgnitionURL: "G",
  PublicURL: "P",
  IPXEServerURL: "P",
  SystemUUID: "U",
  ConfigName: "n",
  ConfigNamespace: "ns",
};

describe("iPXE template parsing limits", () => {
  test("half a million unclosed {{ are text, parsed in linear time", () => {
    const source = `#!ipxe\n${"{{".repeat(500_000)}`;
    const started = performance.now();
    const template = parseIpxeTemplate(source);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(renderIpxeTemplate(template, DATA)).toBe(source);
  });

  test("actions end at the first }} and keep the trim-marker reading", () => {
    const template = parseIpxeTemplate(
      "#!ipxe\n{{.KernelURL -}}|{{- .InitrdURL}}|{{ if .SquashfsURL -}}s{{- else -}}{{.SystemUUID}}{{ end }}|{{ .KernelURL }} {{ open",
    );
    expect(renderIpxeTemplate(template, DATA)).toBe("#!ipxe\nK|I|U|K {{ open");
  });

  test(`{{if}} nested deeper than ${MAX_IF_DEPTH} levels is an error, not a deep recursion at render time`, () => {
    const nested = (depth: number): string => `#!ipxe\n${"{{if .KernelURL}}".repeat(depth)}x${"{{end}}".repeat(depth)}`;
    expect(renderIpxeTemplate(parseIpxeTemplate(nested(MAX_IF_DEPTH)), DATA)).toBe("#!ipxe\nx");
    expect(() => parseIpxeTemplate(nested(100_000))).toThrow(TemplateError);
    expect(() => parseIpxeTemplate(nested(100_000))).toThrow(`nested deeper than ${MAX_IF_DEPTH} levels`);
  });
});
