// The container image: the repository's Dockerfile built without a Docker daemon (buildah, chroot isolation, vfs
// storage), pushed to a real registry (Debian's docker-registry), pulled back (skopeo) and started from the pulled
// layers, where it must serve. Base images cannot be pulled here, so the build replaces them with a local one made
// of this machine's glibc, libgcc_s and busybox (BASE_IMAGE, LINKS_IMAGE) and packages the compiled binary
// (BINARY_STAGE=context); every other instruction is the production file's.
// Started as a runtime would (own mount namespace, /proc and /dev mounted, chroot into the layers, the image's user,
// entrypoint and arguments from the pushed image config): podman and crun cannot start containers in this sandbox
// (setrlimit is refused; "cgroups in hybrid mode not supported").
// Tools: buildah, skopeo, busybox (scripts/ensure/image-tools.sh). buildah's storage lives in the run's temp dir
// (nothing accumulates across runs); the whole file takes ~30-40 s on 2 cores, mostly vfs copying the 117 MB binary.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmod, cp, mkdir, mkdtemp, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type Appliance, REPO_ROOT, requireBinary, startAppliance } from "../harness/appliance.ts";
import { runTool } from "../harness/packaging.ts";
import { RegistryHarness } from "../harness/registry.ts";

const IPXE_MACHINE = "4c4c4544-0042-3510-8052-b4c04f4a4e31";

let workDir: string;
let registry: RegistryHarness;
let imageReference: string;
let app: Appliance | undefined;

async function runOk(command: string[]): Promise<string> {
  const result = await runTool(command);
  if (result.code !== 0) throw new Error(`${command.join(" ")} exited with ${result.code}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

function buildah(...args: string[]): string[] {
  return ["buildah", "--storage-driver", "vfs", "--root", join(workDir, "buildah-storage"), "--runroot", join(workDir, "buildah-run"), ...args];
}

/** The shared libraries `ldd` names for the binary, plus libgcc_s (glibc dlopens it to unwind threads). */
async function runtimeLibraries(binary: string): Promise<string[]> {
  const ldd = await runOk(["ldd", binary]);
  const libraries = [...ldd.matchAll(/(\/\S+\.so[.\d]*)/g)].map((match) => match[1] as string);
  const gcc = /libgcc_s\.so\.1 \(([^)]*)\) => (\S+)/.exec(await runOk(["ldconfig", "-p"]))?.[2];
  if (!gcc) throw new Error("libgcc_s.so.1 not found by ldconfig -p");
  return [...new Set([...libraries, gcc])];
}

/** A base image of this machine's runtime libraries and a static busybox (shell + ln for the links stage). */
async function buildLocalBase(): Promise<string> {
  const context = join(workDir, "base");
  const rootfs = join(context, "rootfs");
  for (const library of await runtimeLibraries(requireBinary())) {
    await mkdir(join(rootfs, dirname(library)), { recursive: true });
    await cp(library, join(rootfs, library), { dereference: true });
  }
  const busybox = Bun.which("busybox");
  if (!busybox) throw new Error("busybox not found (Debian package busybox)");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await mkdir(join(rootfs, "tmp"), { recursive: true });
  await cp(busybox, join(rootfs, "bin/busybox"));
  for (const applet of ["sh", "ln", "mkdir"]) await runOk(["ln", "-s", "busybox", join(rootfs, "bin", applet)]);
  await writeFile(join(context, "Containerfile"), "FROM scratch\nCOPY rootfs/ /\n");
  const tag = "localhost/boot-operator-test-base:latest";
  await runOk(buildah("bud", "--isolation", "chroot", "--quiet", "-t", tag, context));
  return tag;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "boot-operator-image-"));
  registry = await RegistryHarness.start();
  imageReference = `${registry.host}/boot-operator:test`;
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await registry?.stop();
  await rm(workDir, { recursive: true, force: true });
});

test("the Dockerfile builds with buildah and the image is pushed to the registry", async () => {
  const base = await buildLocalBase();
  await runOk(
    buildah(
      "bud",
      "--isolation",
      "chroot",
      "--quiet",
      "--build-arg",
      `BASE_IMAGE=${base}`,
      "--build-arg",
      `LINKS_IMAGE=${base}`,
      "--build-arg",
      "BINARY_STAGE=context",
      "-t",
      imageReference,
      REPO_ROOT,
    ),
  );
  await runOk(buildah("push", "--quiet", "--tls-verify=false", imageReference, `docker://${imageReference}`));
  const tags = (await (await fetch(`${registry.url}/v2/boot-operator/tags/list`)).json()) as { tags: string[] };
  expect(tags.tags).toEqual(["test"]);
}, 120_000);

test("pulled back from the registry, its entrypoint serves /healthz and an iPXE script as user 65532", async () => {
  const config = JSON.parse(await runOk(["skopeo", "inspect", "--tls-verify=false", "--config", `docker://${imageReference}`])) as {
    architecture: string;
    config: { Entrypoint: string[]; Cmd?: string[]; User: string; ExposedPorts: Record<string, object>; Env?: string[] };
  };
  expect(config.architecture).toBe("amd64");
  expect(config.config.Entrypoint).toEqual(["/boot-operator", "serve"]);
  expect(config.config.User).toBe("65532:65532");
  expect(Object.keys(config.config.ExposedPorts)).toEqual(["8082/tcp"]);

  // The layers as the registry serves them, unpacked in order: the root filesystem a runtime would start.
  const layout = join(workDir, "oci");
  await runOk(["skopeo", "copy", "--quiet", "--src-tls-verify=false", `docker://${imageReference}`, `oci:${layout}:test`]);
  const index = (await Bun.file(join(layout, "index.json")).json()) as { manifests: { digest: string }[] };
  const blob = (digest: string): string => join(layout, "blobs", ...digest.split(":"));
  const manifest = (await Bun.file(blob(index.manifests[0]?.digest ?? "")).json()) as { layers: { digest: string }[] };
  const rootfs = join(workDir, "rootfs");
  await mkdir(rootfs);
  for (const layer of manifest.layers) await runOk(["tar", "-xf", blob(layer.digest), "-C", rootfs]);
  expect(await readlink(join(rootfs, "manager"))).toBe("/boot-operator"); // Go operator Deployments run /manager

  // What a runtime sets up before the entrypoint: /proc (the compiled binary reads its own bundle through
  // /proc/self/exe) and /dev, in a mount namespace of its own; then the image's user and command.
  const wrapper = join(workDir, "run-image.sh");
  const command = [...config.config.Entrypoint, ...(config.config.Cmd ?? [])].map((word) => `'${word}'`).join(" ");
  for (const mountPoint of ["proc", "dev"]) await mkdir(join(rootfs, mountPoint), { recursive: true });
  await writeFile(
    wrapper,
    [
      "#!/bin/sh",
      `exec unshare --mount --propagation private sh -c 'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && exec chroot --userspec=${config.config.User} "$0" "$@"' '${rootfs}' ${command} "$@"`,
      "",
    ].join("\n"),
  );
  await chmod(wrapper, 0o755);
  // goManager: no "serve" added by the harness; the image's entrypoint has it.
  app = await startAppliance([], { binary: wrapper, goManager: true, env: Object.fromEntries((config.config.Env ?? []).map((pair) => pair.split("=", 2))) });
  await app.waitReady();
  expect((await (await fetch(`${app.url}/healthz`)).text()).trim()).toBe("ok");
  const script = await fetch(`${app.url}/ipxe/${IPXE_MACHINE}`);
  expect(script.status).toBe(200);
  expect(await script.text()).toContain(`kernel ${app.url}/uki/vmlinuz`);
  expect(Number((await Bun.file(`/proc/${app.pid}/status`).text()).match(/^Uid:\s+(\d+)/m)?.[1])).toBe(65532);
}, 120_000);
