// The one-shot commands and flag handling of the compiled binary, as an operator meets them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, runCommand, startAppliance } from "../harness/appliance.ts";

let dir: string;
const CONFIGS = `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: a}
spec: {systemUUID: 4c4c4544-0042-3510-8052-b4c04f4a4e31, kernelURL: http://k/v, initrdURL: http://k/i, ignitionSecretRef: {name: fcos}}
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: b}
spec: {systemUUID: 4C4C4544-0042-3510-8052-B4C04F4A4E31, kernelURL: http://k/v, initrdURL: http://k/i}
---
apiVersion: v1
kind: Secret
metadata: {name: fcos}
stringData:
  format: fcos
  ignition: |
    variant: fcos
    version: 1.5.0
    storage:
      files:
        - path: /etc/motd
          contents: {local: motd.txt}
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: HTTPBootConfig
metadata: {name: h}
spec: {networkIdentifiers: ["10.0.0.9", "bogus"]}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "boot-operator-cli-"));
  await writeFile(join(dir, "configs.yaml"), CONFIGS);
  await writeFile(join(dir, "broken.yaml"), "kind: [\n");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("validate", () => {
  test("prints every problem with file, field and reason; exits 1", async () => {
    const { code, stdout } = await runCommand(["validate", dir]);
    expect(code).toBe(1);
    expect(stdout).toContain(`error: ${join(dir, "broken.yaml")}#0: YAML syntax error at line`);
    // Accepted like the Go CRD does (the other identifiers still match), but called out.
    expect(stdout).toContain(
      'warning: HTTPBootConfig default/h: networkIdentifiers entry "bogus" is neither an IP nor a MAC address; it never matches and is ignored',
    );
    expect(stdout).toMatch(
      /error: IPXEBootConfig default\/a: butane in secret default\/fcos does not translate: storage\.files\.0\.contents\.local \(line \d+, column \d+\)/,
    );
    expect(stdout).toContain(
      "warning: conflict: IPXEBootConfigs default/a, default/b all claim uuid 4c4c4544-0042-3510-8052-b4c04f4a4e31; default/a is served",
    );
    expect(stdout).toMatch(/2 IPXEBootConfig, 1 HTTPBootConfig, 1 Secret; \d+ error\(s\), \d+ warning\(s\)\n$/);
  });
  test("the shipped samples are clean", async () => {
    const { code, stdout } = await runCommand(["validate", join(REPO_ROOT, "manifests/samples")]);
    expect(stdout).toContain("0 error(s)");
    expect(code).toBe(0);
  });
  test("a missing path is an error in plain words, not a crash", async () => {
    const { code, stdout, stderr } = await runCommand(["validate", join(dir, "nope")]);
    expect(code).toBe(1);
    expect(stdout).toContain(`error: ${join(dir, "nope")}: cannot read: no such file or directory\n`);
    expect(stderr).not.toContain("ENOENT");
  });
  test('a Go-valid kernelURL "" is accepted, with a warning that the default script has nothing to boot', async () => {
    const config = `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: empty}
spec: {systemUUID: 4c4c4544-0042-3510-8052-b4c04f4a4e31, kernelURL: "", initrdURL: ""}
`;
    const { code, stdout } = await runCommand(["validate", "-"], {}, config);
    expect(stdout).toContain(
      "warning: IPXEBootConfig default/empty: kernelURL and initrdURL empty and no ipxeScriptSecretRef: the default iPXE script has nothing to boot",
    );
    expect(stdout).toContain(" 0 error(s)");
    expect(code).toBe(0);
  });
  test("files and - (stdin), with file:line for each problem", async () => {
    const file = join(dir, "configs.yaml");
    const piped = CONFIGS.replace(
      "kernelURL: http://k/v, initrdURL: http://k/i, ignitionSecretRef",
      "kernelURL: s3://k/v, initrdURL: http://k/i, ignitionSecretRef",
    );
    const { code, stdout } = await runCommand(["validate", "-", join(dir, "broken.yaml")], {}, `# from kustomize build\n${piped}`);
    expect(code).toBe(1);
    // Line 4 of CONFIGS is a's spec, one line lower behind the comment.
    expect(stdout).toContain("error: (stdin):5 IPXEBootConfig a: spec.kernelURL: must be a URL iPXE can fetch");
    expect(stdout).toContain(`error: ${join(dir, "broken.yaml")}#0: YAML syntax error at line`);
    const clean = await runCommand(["validate", join(REPO_ROOT, "manifests/samples/machine-1.yaml")]);
    expect(clean.stdout).toContain(" 0 error(s)");
    expect(clean.code).toBe(0);
    // The same resources from a file and from stdin: defined twice; as in a directory, the first name in path order wins.
    const twice = await runCommand(["validate", file, "-"], {}, CONFIGS);
    expect(twice.stdout).toContain(`error: ${file}#0 IPXEBootConfig default/a: metadata.name: defined again; the definition in (stdin) is used`);
  });
});

describe("explain", () => {
  test("names the config per endpoint and the reason it matched", async () => {
    const { code, stdout } = await runCommand(["explain", "--source", `dir:${dir}`, "--uuid", "44454C4C-4200-1035-8052-B4C04F4A4E31", "--ip", "10.0.0.9"]);
    expect(code).toBe(0);
    expect(stdout).toContain("/ipxe/{uuid}: IPXEBootConfig default/a (matched by uuid-byte-swapped");
    expect(stdout).toContain("! ButaneTranslationFailed");
    // h (its bogus identifier ignored, as the Go CRD would accept it) claims the IP but has no UKI.
    expect(stdout).toContain(
      "/httpboot: HTTPBootConfig default/h (matched by ip 10.0.0.9) → 404: HTTPBootConfig default/h has no ukiURL and no default UKI is configured",
    );
    expect(stdout).toContain("conflict: IPXEBootConfigs default/a, default/b");
  });
  test("the embedded samples explain without flags for the source", async () => {
    const { stdout } = await runCommand(["explain", "--uuid", "52a1f4c0-93b1-4d6e-a3b0-6f4e1c2d9b07", "--mac", "52-54-00-12-34-57"]);
    expect(stdout).toContain("/ignition/52a1f4c0-93b1-4d6e-a3b0-6f4e1c2d9b07: HTTPBootConfig default/machine-2");
    expect(stdout).toContain("/httpboot: HTTPBootConfig default/machine-2 (matched by mac 52:54:00:12:34:57)");
  });
  test("a machine no config names: says so and exits 1", async () => {
    const { code, stdout } = await runCommand(["explain", "--source", `dir:${dir}`, "--uuid", "11111111-2222-4333-8444-555555555555"]);
    expect(stdout).toContain("no config names this machine\n");
    expect(code).toBe(1);
  });
  test("needs an identifier", async () => {
    const { code, stderr } = await runCommand(["explain"]);
    expect(code).toBe(2);
    expect(stderr).toContain("give at least one of --uuid, --mac, --ip");
  });
});

describe("flags and help", () => {
  test("version and help", async () => {
    expect((await runCommand(["version"])).stdout).toMatch(/^boot-operator \d+\.\d+\.\d+ \(\S+\)\n$/);
    const help = await runCommand(["serve", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--trusted-proxies CIDRS");
    expect(help.stdout).toContain("[BOOT_OPERATOR_TRUSTED_PROXIES]");
    expect((await runCommand(["--help"])).stdout).toContain("Commands:");
  });
  test("bad values stop the start with one line per flag and exit 2", async () => {
    const { code, stderr } = await runCommand(["serve", "--listen", "nope", "--trusted-proxies", "300.0.0.0/8"]);
    expect(code).toBe(2);
    expect(stderr).toContain('--listen "nope": must be host:port');
    expect(stderr).toContain('--trusted-proxies "300.0.0.0/8": must be comma-separated CIDRs');
  });
  test("env vars are validated the same way", async () => {
    const { code, stderr } = await runCommand(["serve"], { BOOT_OPERATOR_LOG_LEVEL: "chatty" });
    expect(code).toBe(2);
    expect(stderr).toContain('--log-level "chatty": must be one of debug, info, warn, error');
  });
  test("a --uki-dir that does not exist stops the start: one plain line, exit 2", async () => {
    const { code, stderr } = await runCommand(["serve", "--listen", "127.0.0.1:0", "--uki-dir", join(dir, "no-uki")]);
    expect(code).toBe(2);
    expect(stderr).toBe(`boot-operator: --uki-dir ${join(dir, "no-uki")}: no such file or directory; create it or leave the flag out\n`);
  });
  test("out-of-range numbers and missing files in words, not valibot's or Node's", async () => {
    const bounds = await runCommand(["serve", "--listen", "127.0.0.1:0", "--shutdown-timeout", "-1", "--blob-cache-size", "0"]);
    expect(bounds.code).toBe(2);
    expect(bounds.stderr).toContain('--shutdown-timeout "-1": must be at least 0 seconds');
    expect(bounds.stderr).toContain('--blob-cache-size "0": must be at least 1 MiB');
    expect(bounds.stderr).not.toContain("Expected");
    const template = await runCommand(["serve", "--listen", "127.0.0.1:0", "--ipxe-template", join(dir, "none.ipxe")]);
    expect(template.stderr).toBe(`boot-operator: --ipxe-template: cannot open ${join(dir, "none.ipxe")}: no such file or directory\n`);
  });
  test("a mistyped BOOT_OPERATOR_* variable is a warning naming the flag it probably meant", async () => {
    const { code, stderr } = await runCommand(["explain", "--source", `dir:${dir}`, "--ip", "10.0.0.9"], { BOOT_OPERATOR_DEFAULT_UKI_ULR: "/uki/x.efi" });
    expect(code).toBe(0);
    expect(stderr).toContain(
      "boot-operator: warning: BOOT_OPERATOR_DEFAULT_UKI_ULR is not a boot-operator setting and is ignored; did you mean BOOT_OPERATOR_DEFAULT_UKI_URL (--default-uki-url)?",
    );
  });
  test("unknown commands and flags", async () => {
    expect((await runCommand(["frobnicate"])).code).toBe(2);
    expect((await runCommand(["serve", "--frob"])).stderr).toContain("unknown flag --frob");
  });
  test("a broken --ipxe-template refuses to start, naming the line", async () => {
    await writeFile(join(dir, "bad.ipxe"), "#!ipxe\nkernel {{.Kernel}}\n");
    const { code, stderr } = await runCommand(["serve", "--listen", "127.0.0.1:0", "--ipxe-template", join(dir, "bad.ipxe")]);
    expect(code).toBe(1);
    expect(stderr).toContain('line 2: unknown template field ".Kernel"');
  });
});

describe("README first command: serve with no source flag", () => {
  test("every URL in every sample answer resolves (the /uki/ placeholders are built in)", async () => {
    const app = await startAppliance(["--trusted-proxies", "127.0.0.1/32"]);
    try {
      await app.waitReady();
      const machines = [
        { uuid: "4c4c4544-0042-3510-8052-b4c04f4a4e31", answers: ["/ipxe/{uuid}", "/ignition/{uuid}"] },
        { uuid: "52a1f4c0-93b1-4d6e-a3b0-6f4e1c2d9b07", answers: ["/httpboot", "/ignition/{uuid}"], forwardedFor: "10.0.2.16" },
        { uuid: "9b8f2f7e-1f0a-4a57-9d55-0c1f6a3e2b11", answers: ["/ipxe/{uuid}", "/ignition/{uuid}"] },
      ];
      const checked = new Set<string>();
      for (const machine of machines) {
        for (const answer of machine.answers) {
          const path = answer.replace("{uuid}", machine.uuid);
          const response = await fetch(`${app.url}${path}`, machine.forwardedFor ? { headers: { "X-Forwarded-For": machine.forwardedFor } } : {});
          expect(response.status, path).toBe(200);
          // iPXE expands ${uuid} to the machine's UUID before fetching.
          const text = (await response.text()).replaceAll(`\${uuid}`, machine.uuid);
          for (const url of text.match(/https?:\/\/[^\s"'\\]+/g) ?? []) {
            expect(url, `${url} in ${path}`).toStartWith(app.url);
            const file = await fetch(url);
            expect(file.status, `${url} in the answer of ${path}`).toBe(200);
            checked.add(new URL(url).pathname);
          }
        }
      }
      expect([...checked].sort()).toEqual(
        expect.arrayContaining(["/uki/vmlinuz", "/uki/initrd.img", "/uki/sample.efi", "/ignition/4c4c4544-0042-3510-8052-b4c04f4a4e31"]),
      );
      // Placeholders that say what they are, not fake kernels.
      expect(await (await fetch(`${app.url}/uki/vmlinuz`)).text()).toContain("is a placeholder built into the binary, not a real boot file");
    } finally {
      await app.stop();
    }
  });

  test("serves the embedded samples (Go-operator flag aliases and env config)", async () => {
    const app = await startAppliance([], { env: { BOOT_OPERATOR_IPXE_SERVICE_URL: "ignored-because-not-an-env-name", BOOT_OPERATOR_LISTEN: "127.0.0.1:0" } });
    try {
      await app.waitReady();
      const ignition = await fetch(`${app.url}/ignition/52a1f4c0-93b1-4d6e-a3b0-6f4e1c2d9b07`);
      expect(ignition.status).toBe(200);
      expect(((await ignition.json()) as { ignition: { version: string } }).ignition.version).toBe("3.4.0");
      const script = await (await fetch(`${app.url}/ipxe/9b8f2f7e-1f0a-4a57-9d55-0c1f6a3e2b11`)).text();
      expect(script).toBe(
        `#!ipxe\nchain ${app.url}/uki/sample.efi ip=any ignition.firstboot=1 ignition.config.url=${app.url}/ignition/\${uuid} ignition.platform.id=metal console=ttyS0,115200n8 || exit 1\n`,
      );
    } finally {
      await app.stop();
    }
  });
  test("--ipxe-service-url is accepted as the Go operator's name for --public-url", async () => {
    const app = await startAppliance(["--ipxe-service-url", "http://10.1.2.3:8082"]);
    try {
      await app.waitReady();
      expect(await (await fetch(`${app.url}/ipxe`)).text()).toContain("set ipxe-svc http://10.1.2.3:8082\n");
    } finally {
      await app.stop();
    }
  });
});
