// iPXE script templates. The syntax is the subset of Go's text/template the Go boot-operator's templates use
// ({{.Field}}, {{if .Field}}…{{else}}…{{end}}), so operators can bring their existing templates along.
// A template is parsed once (at start and when its file changes); rendering is a walk over the parsed nodes.
// The engine (parseTemplate/renderTemplate) takes its field list as a parameter: the switch ZTP payloads
// (boot/ztp/) use the same language with their own fields.

const IPXE_TEMPLATE_FIELDS = [
  "KernelURL",
  "InitrdURL",
  "SquashfsURL",
  /** spec.kernelArgs joined with spaces (our addition; the Go operator has no such field). */
  "KernelArgs",
  "IgnitionURL",
  "PublicURL",
  /** The Go operator's name for the public URL, accepted in migrated templates. */
  "IPXEServerURL",
  "SystemUUID",
  "ConfigName",
  "ConfigNamespace",
] as const;
type IpxeTemplateField = (typeof IPXE_TEMPLATE_FIELDS)[number];
export type IpxeTemplateData = Record<IpxeTemplateField, string>;

type TemplateNode<F extends string = IpxeTemplateField> =
  | { type: "text"; text: string }
  | { type: "field"; field: F }
  | { type: "if"; field: F; body: TemplateNode<F>[]; otherwise: TemplateNode<F>[] };

/** A parsed template over the fields F. */
export interface Template<F extends string> {
  readonly source: string;
  readonly nodes: readonly TemplateNode<F>[];
}

export type IpxeTemplate = Template<IpxeTemplateField>;

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Deepest {{if}} nesting accepted: rendering recurses once per level (real templates nest one or two). */
export const MAX_IF_DEPTH = 100;

/**
 * The actions `{{…}}` in document order, each up to the first `}}` after its `{{` (as `/\{\{-?\s*(.*?)\s*-?\}\}/gs`
 * matches them), found with indexOf: a regex rescans to the end of the text for every `{{` that is never closed,
 * which is quadratic in a Secret-sized script.
 */
function* actions(source: string): Generator<{ index: number; length: number; expression: string }> {
  let from = 0;
  for (;;) {
    const start = source.indexOf("{{", from);
    if (start < 0) return;
    const end = source.indexOf("}}", start + 2);
    if (end < 0) return; // no `}}` anywhere after: the rest is text
    let inner = source.slice(start + 2, end);
    if (inner.startsWith("-")) inner = inner.slice(1);
    // A trim marker is the `-` right before `}}`, whitespace before it is dropped: `\s*-?\}\}`.
    inner = (inner.endsWith("-") ? inner.slice(0, -1) : inner).trim();
    yield { index: start, length: end + 2 - start, expression: inner };
    from = end + 2;
  }
}

function lineAt(source: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

function fieldName<F extends string>(fields: readonly F[], expression: string, source: string, offset: number): F {
  const match = /^\.([A-Za-z][A-Za-z0-9]*)$/.exec(expression);
  const name = match?.[1];
  const field = fields.find((known) => known === name);
  if (field === undefined) {
    throw new TemplateError(`unknown template field "${expression}" (known: ${fields.map((f) => `.${f}`).join(", ")})`, lineAt(source, offset));
  }
  return field;
}

export function parseIpxeTemplate(source: string): IpxeTemplate {
  const template = parseTemplate(source, IPXE_TEMPLATE_FIELDS);
  if (!source.trimStart().startsWith("#!ipxe")) throw new TemplateError("an iPXE script must start with #!ipxe", 1);
  return template;
}

/** Parses `source` in the template language above, accepting exactly the fields in `fields`; throws TemplateError. */
export function parseTemplate<F extends string>(source: string, fields: readonly F[]): Template<F> {
  const root: TemplateNode<F>[] = [];
  // Stack of open {{if}} blocks: where new nodes go, and whether we are past {{else}}.
  const stack: { node: Extract<TemplateNode<F>, { type: "if" }>; inElse: boolean; offset: number }[] = [];
  const target = (): TemplateNode<F>[] => {
    const top = stack.at(-1);
    return top ? (top.inElse ? top.node.otherwise : top.node.body) : root;
  };
  let position = 0;
  for (const action of actions(source)) {
    const offset = action.index;
    if (offset > position) target().push({ type: "text", text: source.slice(position, offset) });
    position = offset + action.length;
    const expression = action.expression;
    if (expression.startsWith("/*")) continue;
    if (expression.startsWith("if ")) {
      const node: Extract<TemplateNode<F>, { type: "if" }> = {
        type: "if",
        field: fieldName(fields, expression.slice(3).trim(), source, offset),
        body: [],
        otherwise: [],
      };
      target().push(node);
      if (stack.length >= MAX_IF_DEPTH) throw new TemplateError(`{{if}} nested deeper than ${MAX_IF_DEPTH} levels`, lineAt(source, offset));
      stack.push({ node, inElse: false, offset });
    } else if (expression === "else") {
      const top = stack.at(-1);
      if (!top || top.inElse) throw new TemplateError("{{else}} without {{if}}", lineAt(source, offset));
      top.inElse = true;
    } else if (expression === "end") {
      if (!stack.pop()) throw new TemplateError("{{end}} without {{if}}", lineAt(source, offset));
    } else {
      target().push({ type: "field", field: fieldName(fields, expression, source, offset) });
    }
  }
  const unclosed = stack.at(-1);
  if (unclosed) throw new TemplateError("{{if}} is never closed with {{end}}", lineAt(source, unclosed.offset));
  if (position < source.length) target().push({ type: "text", text: source.slice(position) });
  return { source, nodes: root };
}

function renderNodes<F extends string>(nodes: readonly TemplateNode<F>[], data: Readonly<Record<F, string>>, out: string[]): void {
  for (const node of nodes) {
    if (node.type === "text") out.push(node.text);
    else if (node.type === "field") out.push(data[node.field]);
    else renderNodes(data[node.field] !== "" ? node.body : node.otherwise, data, out);
  }
}

export function renderTemplate<F extends string>(template: Template<F>, data: Readonly<Record<F, string>>): string {
  const out: string[] = [];
  renderNodes(template.nodes, data, out);
  return out.join("");
}

export function renderIpxeTemplate(template: IpxeTemplate, data: IpxeTemplateData): string {
  return renderTemplate(template, data);
}

/**
 * The script every machine gets unless its config names a custom one. The kernel arguments are the Go operator's
 * (same consoles: serial on x86 and arm64, tty, early printk, no console blanking; SYSTEMD_SULOGIN_FORCE=1 so an
 * emergency shell opens even with a locked root account), so a fleet moved over boots exactly as before. Ours on
 * top: `initrd=initrd` names the initrd for EFI kernels (iPXE registers it under that name), the GardenLinux
 * live-boot arguments appear only when there is a squashfs, spec.kernelArgs come last (so they override ours), and
 * a failed download says so instead of hanging.
 */
export const DEFAULT_IPXE_TEMPLATE = `#!ipxe
# boot-operator: {{.ConfigNamespace}}/{{.ConfigName}}
kernel {{.KernelURL}} initrd=initrd{{if .SquashfsURL}} gl.ovl=/:tmpfs gl.url={{.SquashfsURL}} gl.live=1{{end}} ip=any ignition.firstboot=1 ignition.config.url={{.IgnitionURL}} ignition.platform.id=metal console=ttyS0,115200 console=tty0 console=ttyAMA0 earlyprintk=ttyS0,115200 SYSTEMD_SULOGIN_FORCE=1 consoleblank=0{{if .KernelArgs}} {{.KernelArgs}}{{end}} || goto failed
initrd --name initrd {{.InitrdURL}} || goto failed
boot || goto failed
:failed
echo boot-operator: could not load the boot files for {{.ConfigNamespace}}/{{.ConfigName}}; leaving iPXE
exit 1
`;

/**
 * First-stage script served on /ipxe: hands the machine's identity to the second stage. Like the Go operator's, it
 * sets `ipxe-svc` (this server) and `base-url` (its /ipxe) and replaces itself, because custom `ipxe-script`
 * secrets written for the Go operator use those two settings. iPXE expands the ${…} settings on the client;
 * `mac:hexhyp` avoids colons in the query, and a machine without an SMBIOS UUID arrives as "/ipxe/?mac=…".
 */
export function renderChainloadScript(publicUrl: string): string {
  return `#!ipxe
set ipxe-svc ${publicUrl}
set base-url \${ipxe-svc}/ipxe
chain --replace --autofree \${base-url}/\${uuid}?mac=\${mac:hexhyp}&arch=\${buildarch} || goto failed
:failed
echo boot-operator: no boot script for this machine (uuid \${uuid}, mac \${mac}); leaving iPXE
exit 1
`;
}
