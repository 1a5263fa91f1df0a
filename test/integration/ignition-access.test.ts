// --ignition-access bound through the compiled binary, with real source addresses on 127.0.0.0/8 (node:http's
// localAddress binds the client socket): the script fetch gets the token, Ignition with it works --token-uses
// times; strangers get one 403 whether or not the UUID exists; a machine's own address needs no token; a second
// address is contested; a re-arm annotation in the file opens a new window; the key file rotates in place.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Appliance, BINARY, startAppliance } from "../harness/appliance.ts";
import { requestFrom, tokenInScript } from "../harness/source-address.ts";

const M1 = "33333333-0000-4000-8000-000000000001";
const M2 = "33333333-0000-4000-8000-000000000002";
const M3 = "33333333-0000-4000-8000-000000000003";
const BOUND = "33333333-0000-4000-8000-000000000009";
const UNKNOWN = "33333333-0000-4000-8000-0000000000ff";
const KEY_A = "key-a-".padEnd(44, "a");
const KEY_B = "key-b-".padEnd(44, "b");
const RAW = '{"ignition":{"version":"3.4.0"}}';

let dir: string;
let keyFile: string;
let app: Appliance;

const config = (name: string, uuid: string, extra = "", metadata = "") => `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata:
  name: ${name}
${metadata}spec:
  systemUUID: ${uuid}
  kernelURL: http://images.example/vmlinuz
  initrdURL: http://images.example/initrd
  ignitionSecretRef: {name: ign}
${extra}`;

const get = (path: string, from: string, method = "GET") => requestFrom(app.url, path, from, method);

async function scriptToken(uuid: string, from: string): Promise<string | null> {
  const script = await get(`/ipxe/${uuid}`, from);
  expect(script.status).toBe(200);
  return tokenInScript(script.body);
}

/** Rewrites a resource file and waits until the server has loaded the change. */
async function rewriteResource(name: string, text: string): Promise<void> {
  const loads = (): number => app.logs.filter((line) => line.msg === "resources loaded").length;
  const before = loads();
  await writeFile(join(dir, name), text);
  await app.waitForLog((line) => line.msg === "resources loaded" && loads() > before);
}

async function metric(line: string): Promise<string | undefined> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  return text.split("\n").find((candidate) => candidate.startsWith(line));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ignition-access-"));
  keyFile = join(dir, "..", `${dir.split("/").pop()}-keys`);
  await writeFile(keyFile, `${KEY_A}\n`);
  await writeFile(join(dir, "secret.yaml"), `apiVersion: v1\nkind: Secret\nmetadata: {name: ign}\nstringData:\n  ignition: '${RAW}'\n`);
  await writeFile(join(dir, "m1.yaml"), config("m1", M1));
  await writeFile(join(dir, "m2.yaml"), config("m2", M2));
  await writeFile(join(dir, "m3.yaml"), config("m3", M3));
  await writeFile(join(dir, "bound.yaml"), config("bound", BOUND, "  systemIPs: [127.0.0.9]\n"));
  app = await startAppliance(["--source", `dir:${dir}`, "--ignition-access", "bound", "--token-key-file", keyFile, "--token-uses", "2"]);
  await app.waitReady();
});

afterAll(async () => {
  await app?.stop();
  await rm(dir, { recursive: true, force: true });
  await rm(keyFile, { force: true });
});

describe("--ignition-access bound (binary)", () => {
  test("the script fetched from 127.0.0.1 carries a token; Ignition with it works --token-uses times, then 403", async () => {
    const token = await scriptToken(M1, "127.0.0.1");
    expect(token).not.toBeNull();
    for (let i = 0; i < 2; i++) expect(await get(`/ignition/${M1}?token=${token}`, "127.0.0.7")).toEqual({ status: 200, body: RAW });
    const used = await get(`/ignition/${M1}?token=${token}`, "127.0.0.7");
    expect(used.status).toBe(403);
    expect(used.body).toStartWith("ignition access denied: token-used-up");
    expect(await metric('boot_operator_ignition_denied_total{reason="token-used-up"}')).toEndWith(" 1");
  });

  test("from 127.0.0.7 without a token: 403, the same answer as for a UUID nobody has", async () => {
    const known = await get(`/ignition/${M2}`, "127.0.0.7");
    const unknown = await get(`/ignition/${UNKNOWN}`, "127.0.0.7");
    expect(known.status).toBe(403);
    expect(unknown).toEqual(known);
    expect((await get(`/ignition/${UNKNOWN}`, "127.0.0.7", "HEAD")).status).toBe(403);
    const logged = await app.waitForLog((line) => line.msg === "ignition fetch refused" && line.uuid === M2);
    expect(logged).toMatchObject({ level: "warn", reason: "no-token", requester: "127.0.0.7", config: "IPXEBootConfig default/m2" });
  });

  test("a machine whose systemIPs has 127.0.0.9 fetches from 127.0.0.9 without a token", async () => {
    expect(await get(`/ignition/${BOUND}`, "127.0.0.9")).toEqual({ status: 200, body: RAW });
    expect((await get(`/ignition/${BOUND}`, "127.0.0.8")).status).toBe(403);
  });

  test("a second address asking for the script is contested: no token, counted, logged", async () => {
    const holder = await scriptToken(M2, "127.0.0.2");
    expect(holder).not.toBeNull();
    expect(await scriptToken(M2, "127.0.0.2")).toBe(holder);
    expect(await scriptToken(M2, "127.0.0.7")).toBeNull();
    expect(await metric("boot_operator_ignition_token_contested_total")).toEndWith(" 1");
    const logged = await app.waitForLog((line) => String(line.msg).startsWith("boot token contested"));
    expect(logged).toMatchObject({ config: "IPXEBootConfig default/m2", requester: "127.0.0.7", holder: "127.0.0.2" });
  });

  test("a new value in annotation boot.ironcore.dev/rearm-token (in the file) opens a new window and voids the old token", async () => {
    const old = await scriptToken(M3, "127.0.0.3");
    expect(await scriptToken(M3, "127.0.0.7")).toBeNull();
    await rewriteResource("m3.yaml", config("m3", M3, "", '  annotations:\n    boot.ironcore.dev/rearm-token: "1"\n'));
    const fresh = await scriptToken(M3, "127.0.0.7");
    expect(fresh).not.toBeNull();
    expect(fresh).not.toBe(old);
    expect((await get(`/ignition/${M3}?token=${old}`, "127.0.0.3")).body).toStartWith("ignition access denied: token-stale-generation");
    expect((await get(`/ignition/${M3}?token=${fresh}`, "127.0.0.7")).status).toBe(200);
  });

  test("key rotation: with the new key first and the old one second both verify; with the old one gone its tokens do not", async () => {
    // A fresh window for m1 (its first was used up above): re-arm it.
    await rewriteResource("m1.yaml", config("m1", M1, "", "  annotations:\n    boot.ironcore.dev/rearm-token: rotate\n"));
    const signedWithA = await scriptToken(M1, "127.0.0.4");
    expect(signedWithA).not.toBeNull();
    await writeFile(keyFile, `${KEY_B}\n${KEY_A}\n`);
    await app.waitForLog((line) => line.msg === "boot token keys reloaded" && line.keys === 2, 20_000);
    expect((await get(`/ignition/${M1}?token=${signedWithA}`, "127.0.0.4")).status).toBe(200);
    await writeFile(keyFile, `${KEY_B}\n`);
    await app.waitForLog((line) => line.msg === "boot token keys reloaded" && line.keys === 1, 20_000);
    expect((await get(`/ignition/${M1}?token=${signedWithA}`, "127.0.0.4")).body).toStartWith("ignition access denied: token-invalid");
  });
});

describe("start-up and explain", () => {
  test("open (the default) warns at start; bound without a key file warns that tokens die with the process", async () => {
    const open = await startAppliance(["--source", `dir:${dir}`]);
    try {
      await open.waitReady();
      expect(open.logs.some((line) => line.level === "warn" && String(line.msg).startsWith("--ignition-access open"))).toBe(true);
    } finally {
      await open.stop();
    }
    const random = await startAppliance(["--source", `dir:${dir}`, "--ignition-access", "bound"]);
    try {
      await random.waitReady();
      expect(random.logs.some((line) => line.level === "warn" && String(line.msg).includes("random key"))).toBe(true);
    } finally {
      await random.stop();
    }
  });

  test("a key file that is too short stops the start with its name", async () => {
    const short = join(dir, "short-key");
    await writeFile(short, "too-short\n");
    const child = Bun.spawnSync([
      BINARY,
      "serve",
      "--source",
      `dir:${dir}`,
      "--listen",
      "127.0.0.1:0",
      "--ignition-access",
      "bound",
      "--token-key-file",
      short,
    ]);
    expect(child.exitCode).toBe(2);
    expect(child.stderr.toString()).toContain(`--token-key-file ${short}: key 1 is 9 bytes`);
  });

  test("explain --ip --token tells what that requester would get and why", async () => {
    const token = await scriptToken(BOUND, "127.0.0.1");
    expect(token).not.toBeNull();
    const explain = (args: string[]) =>
      Bun.spawnSync([
        BINARY,
        "explain",
        "--source",
        `dir:${dir}`,
        "--uuid",
        BOUND,
        "--ignition-access",
        "bound",
        "--token-key-file",
        keyFile,
        ...args,
      ]).stdout.toString();
    expect(explain(["--ip", "127.0.0.9"])).toContain("allowed, 127.0.0.9 is one of the config's own addresses");
    expect(explain(["--ip", "127.0.0.7"])).toContain("403 no-token");
    expect(explain(["--ip", "127.0.0.7", "--token", String(token)])).toContain("allowed by the token");
    expect(explain(["--ip", "127.0.0.7", "--token", "abc.def"])).toContain("403 token-invalid");
  });
});
