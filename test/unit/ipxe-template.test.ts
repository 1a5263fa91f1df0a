import { describe, expect, test } from "bun:test";
import { DEFAULT_IPXE_TEMPLATE, type IpxeTemplateData, parseIpxeTemplate, renderChainloadScript, renderIpxeTemplate } from "../../src/boot/ipxe-template.ts";

const data: IpxeTemplateData = {
  KernelURL: "http://b/k",
  InitrdURL: "http://b/i",
  SquashfsURL: "",
  KernelArgs: "",
  IgnitionURL: "http://b/ignition/${uuid}",
  PublicURL: "http://b",
  IPXEServerURL: "http://b",
  SystemUUID: "u",
  ConfigName: "m1",
  ConfigNamespace: "ns",
};

describe("default template", () => {
  const template = parseIpxeTemplate(DEFAULT_IPXE_TEMPLATE);
  test("kernel line carries initrd name, ignition and consoles; no live-boot args without squashfs", () => {
    const script = renderIpxeTemplate(template, data);
    expect(script.startsWith("#!ipxe\n")).toBe(true);
    const kernel = script.split("\n").find((line) => line.startsWith("kernel "));
    expect(kernel).toBe(
      `kernel http://b/k initrd=initrd ip=any ignition.firstboot=1 ignition.config.url=http://b/ignition/\${uuid} ignition.platform.id=metal console=ttyS0,115200 console=tty0 console=ttyAMA0 earlyprintk=ttyS0,115200 SYSTEMD_SULOGIN_FORCE=1 consoleblank=0 || goto failed`,
    );
    expect(script).toContain("initrd --name initrd http://b/i || goto failed\n");
    expect(script).toContain("boot || goto failed\n");
    expect(script).not.toContain("gl.url");
  });
  test("the Go operator's kernel arguments are all there, in its order (a migrated fleet boots the same)", () => {
    // templates/ipxe-script.tpl of the Go operator, with its ${…} settings replaced by what they hold.
    const goArguments =
      `initrd=initrd gl.ovl=/:tmpfs gl.url=http://b/root.squashfs gl.live=1 ip=any ignition.firstboot=1 ignition.config.url=http://b/ignition/\${uuid} ignition.platform.id=metal console=ttyS0,115200 console=tty0 console=ttyAMA0 earlyprintk=ttyS0,115200 SYSTEMD_SULOGIN_FORCE=1 consoleblank=0`.split(
        " ",
      );
    const kernel = renderIpxeTemplate(template, { ...data, SquashfsURL: "http://b/root.squashfs" })
      .split("\n")
      .find((line) => line.startsWith("kernel "));
    const ours = (kernel ?? "")
      .replace(/ \|\| goto failed$/, "")
      .split(" ")
      .slice(2);
    expect(ours).toEqual(goArguments);
  });
  test("squashfs adds live-boot arguments", () => {
    const script = renderIpxeTemplate(template, { ...data, SquashfsURL: "http://b/root.squashfs" });
    expect(script).toContain(" gl.ovl=/:tmpfs gl.url=http://b/root.squashfs gl.live=1 ip=any");
  });
});

describe("template syntax (Go text/template subset)", () => {
  test("if/else/end and spacing variants", () => {
    const template = parseIpxeTemplate("#!ipxe\n{{ if .SquashfsURL }}A{{else}}B{{ end }} {{ .ConfigName }}{{/* comment */}}\n");
    expect(renderIpxeTemplate(template, data)).toBe("#!ipxe\nB m1\n");
    expect(renderIpxeTemplate(template, { ...data, SquashfsURL: "x" })).toBe("#!ipxe\nA m1\n");
  });
  test("iPXE's own ${…} settings pass through untouched", () => {
    expect(renderIpxeTemplate(parseIpxeTemplate("#!ipxe\necho ${uuid} {{.SystemUUID}}\n"), data)).toBe("#!ipxe\necho ${uuid} u\n");
  });
  test.each([
    ["#!ipxe\n{{.Kernel}}\n", /line 2: unknown template field "\.Kernel"/],
    ["#!ipxe\n{{if .KernelURL}}x\n", /line 2: \{\{if\}\} is never closed/],
    ["#!ipxe\n\n{{end}}", /line 3: \{\{end\}\} without \{\{if\}\}/],
    ["#!ipxe\n{{else}}", /\{\{else\}\} without \{\{if\}\}/],
    ["kernel x\n", /must start with #!ipxe/],
  ])("rejects %p", (source, message) => expect(() => parseIpxeTemplate(source)).toThrow(message));
});

describe("chainload script", () => {
  const script = renderChainloadScript("http://10.0.0.5:8082");
  test("sets the Go operator's ipxe-svc and base-url before chaining (custom scripts written for it use them)", () => {
    const lines = script.split("\n");
    expect(lines.slice(0, 3)).toEqual(["#!ipxe", "set ipxe-svc http://10.0.0.5:8082", `set base-url \${ipxe-svc}/ipxe`]);
  });
  test("replaces itself with the second stage, handing over uuid, mac and arch", () => {
    expect(script).toContain(`\nchain --replace --autofree \${base-url}/\${uuid}?mac=\${mac:hexhyp}&arch=\${buildarch} || goto failed\n`);
    expect(script).toContain("exit 1");
  });
});
