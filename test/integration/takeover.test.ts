// Issue #16, directory mode, through the compiled binary: a file that claims another machine's UUID must not take
// that machine's boot (its iPXE script and its Ignition, SSH keys included), however it dresses up — the translator's
// active annotation, a creationTimestamp from 1970, a name that sorts first. The running server keeps serving the
// config it served; `validate` and `explain` show the attacker in conflict.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type Appliance, runCommand, startAppliance } from "../harness/appliance.ts";

const UUID = "7d3c1f52-8a41-4b7e-9c0d-2e5f6a7b8c9d";
const VICTIM_IGNITION = '{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["ssh-ed25519 AAAAvictim"]}]}}';
const ATTACKER_IGNITION = '{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["ssh-ed25519 AAAAattacker"]}]}}';

function machine(namespace: string, name: string, kernel: string, ignition: string, metadata = ""): string {
  return `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: ${name}, namespace: ${namespace}${metadata}}
spec:
  systemUUID: ${UUID}
  kernelURL: http://images.example/${kernel}
  initrdURL: http://images.example/initrd
  ignitionSecretRef: {name: ${name}-ignition}
---
apiVersion: v1
kind: Secret
metadata: {name: ${name}-ignition, namespace: ${namespace}}
stringData:
  ignition: '${ignition}'
`;
}

let dir: string;
let app: Appliance;

/** Write-then-rename, so the watcher never reads half a file (dot-files are not resources). */
async function writeAtomically(relative: string, text: string): Promise<void> {
  const path = join(dir, relative);
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${Date.now()}.tmp`);
  await writeFile(temporary, text);
  await rename(temporary, path);
}

async function servedKernel(): Promise<string> {
  const script = await (await fetch(`${app.url}/ipxe/${UUID}`)).text();
  return /kernel (\S+)/.exec(script)?.[1] ?? `(no kernel line in ${JSON.stringify(script)})`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "boot-operator-takeover-"));
  await writeAtomically("rack-a/victim.yaml", machine("prod", "victim", "victim-kernel", VICTIM_IGNITION));
  app = await startAppliance(["--source", `dir:${dir}`, "--public-url", "http://boot.test"]);
  await app.waitReady();
});

afterAll(async () => {
  await app?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("a file claiming another machine's UUID does not get its boot", () => {
  test("before any attack the victim boots its own config", async () => {
    expect(await servedKernel()).toBe("http://images.example/victim-kernel");
  });

  const attacks: [string, string, string][] = [
    ["the translator's active annotation", "tenant/impostor", `, annotations: {"boot.ironcore.dev/active": "true"}`],
    ["a creationTimestamp from 1970", "tenant/ancient", `, creationTimestamp: "1970-01-01T00:00:00Z"`],
    ["a namespace and name that sort first", "aaa/aaa", ""],
  ];
  for (const [how, key, metadata] of attacks) {
    test(`with ${how}`, async () => {
      const [namespace = "", name = ""] = key.split("/");
      const file = `rack-b/${name}.yaml`;
      await writeAtomically(file, machine(namespace, name, "attacker-kernel", ATTACKER_IGNITION, metadata));
      // The reload that brings the attacker in is logged as a conflict naming it.
      await app.waitForLog((line) => line.msg === "identifier conflict" && String(line.conflict).includes(key));

      expect(await servedKernel()).toBe("http://images.example/victim-kernel");
      const ignition = await (await fetch(`${app.url}/ignition/${UUID}`)).text();
      expect(ignition).toBe(VICTIM_IGNITION);
      expect(ignition).not.toContain("AAAAattacker");

      const validate = await runCommand(["validate", dir]);
      expect(validate.stdout).toContain(`conflict: IPXEBootConfigs prod/victim, ${key} all claim uuid ${UUID}; prod/victim is served, not ${key}`);
      const explain = await runCommand(["explain", "--source", `dir:${dir}`, "--uuid", UUID]);
      expect(explain.stdout).toContain(`/ipxe/{uuid}: IPXEBootConfig prod/victim (matched by uuid ${UUID}`);
      expect(explain.stdout).toContain(`/ignition/${UUID}: IPXEBootConfig prod/victim`);
      expect(explain.stdout).toContain(`conflict: IPXEBootConfigs prod/victim, ${key} all claim uuid ${UUID}; prod/victim is served`);

      const mark = app.logs.length;
      await rm(join(dir, file));
      await app.waitForLog((line) => app.logs.indexOf(line) >= mark && line.msg === "resources loaded" && line.conflicts === 0);
    });
  }

  test("a holder that is deleted releases the UUID: the other config then boots the machine", async () => {
    await writeAtomically("rack-b/successor.yaml", machine("tenant", "successor", "successor-kernel", ATTACKER_IGNITION));
    await app.waitForLog((line) => line.msg === "identifier conflict" && String(line.conflict).includes("tenant/successor"));
    expect(await servedKernel()).toBe("http://images.example/victim-kernel");
    const mark = app.logs.length;
    await rm(join(dir, "rack-a/victim.yaml"));
    await app.waitForLog((line) => app.logs.indexOf(line) >= mark && line.msg === "resources loaded" && line.conflicts === 0);
    expect(await servedKernel()).toBe("http://images.example/successor-kernel");
  });
});
