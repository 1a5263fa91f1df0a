// /uki against a symlink swapped while requests run: the file served must be the one opened and checked, never one
// a swap put in place after the check (issue #16: 11 107 of 50 634 GETs once returned a file outside --uki-dir).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Appliance, startAppliance } from "../harness/appliance.ts";

let work: string;
let uki: string;
let app: Appliance;

const INSIDE = "inside-content\n";
const OUTSIDE = "OUTSIDE-SECRET\n";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "uki-race-"));
  uki = join(work, "uki");
  await mkdir(uki);
  await writeFile(join(uki, "real.efi"), INSIDE);
  await writeFile(join(uki, ".hidden"), "dot-file");
  await writeFile(join(work, "secret"), OUTSIDE);
  await symlink(join(uki, "real.efi"), join(uki, "boot.efi"));
  await mkdir(join(uki, "d"));
  await writeFile(join(uki, "d", "boot.efi"), INSIDE);
  await mkdir(join(work, "outside-d"));
  await writeFile(join(work, "outside-d", "boot.efi"), OUTSIDE);
  app = await startAppliance(["--uki-dir", uki]);
  await app.waitReady();
});
afterAll(async () => {
  await app?.stop();
  await rm(work, { recursive: true, force: true });
});

/** Flips the file link (atomically, by rename) and the directory d (a real directory, then a link out of the tree). */
async function swapOnce(swaps: number): Promise<void> {
  const target = swaps % 2 === 0 ? join(work, "secret") : join(uki, "real.efi");
  const temporary = join(uki, `tmp-${swaps}`);
  await symlink(target, temporary);
  await rename(temporary, join(uki, "boot.efi"));
  if (swaps % 2 === 0) {
    await rename(join(uki, "d"), join(uki, "d-stash"));
    await symlink(join(work, "outside-d"), join(uki, "d"));
  } else {
    await unlink(join(uki, "d"));
    await rename(join(uki, "d-stash"), join(uki, "d"));
  }
}

test("symlinks swapped between inside and outside during GETs never serve the outside file", async () => {
  let swapping = true;
  let swaps = 0;
  const swapper = (async () => {
    while (swapping) {
      await swapOnce(swaps);
      swaps++;
      if (swaps % 50 === 0) await Bun.sleep(0);
    }
  })();
  const counts = { inside: 0, outside: 0, refused: 0, other: 0 };
  const others: string[] = [];
  let requests = 0;
  const deadline = Date.now() + 6_000;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      requests++;
      const path = requests % 2 === 0 ? "/uki/boot.efi" : "/uki/d/boot.efi";
      const response = await fetch(`${app.url}${path}`);
      const text = await response.text();
      if (response.status === 404) counts.refused++;
      else if (text === OUTSIDE) counts.outside++;
      else if (response.status === 200 && text === INSIDE) counts.inside++;
      else {
        counts.other++;
        if (others.length < 3) others.push(`${response.status} ${text.slice(0, 80)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  swapping = false;
  await swapper;
  console.log("uki race", { swaps, ...counts, others });
  expect(swaps).toBeGreaterThan(100);
  expect(counts.inside).toBeGreaterThan(0);
  expect(counts.refused).toBeGreaterThan(0);
  expect(counts.outside).toBe(0);
  expect(counts.other).toBe(0);
}, 30_000);

test("dot-files are not served", async () => {
  expect((await fetch(`${app.url}/uki/.hidden`)).status).toBe(404);
  expect((await fetch(`${app.url}/uki/%2Ehidden`)).status).toBe(404);
});

test("ranges, HEAD and ETag still work when serving from the opened file", async () => {
  const full = await fetch(`${app.url}/uki/real.efi`);
  // An exact Content-Length, not chunked encoding: boot firmware needs the size up front.
  expect(full.headers.get("content-length")).toBe(String(INSIDE.length));
  expect(await full.text()).toBe(INSIDE);
  const etag = full.headers.get("etag") ?? "";
  expect(etag).toMatch(/^".+"$/);
  const ranged = await fetch(`${app.url}/uki/real.efi`, { headers: { Range: "bytes=2-5" } });
  expect(ranged.status).toBe(206);
  expect(await ranged.text()).toBe(INSIDE.slice(2, 6));
  const head = await fetch(`${app.url}/uki/real.efi`, { method: "HEAD" });
  expect(head.headers.get("content-length")).toBe(String(INSIDE.length));
  expect((await fetch(`${app.url}/uki/real.efi`, { headers: { "If-None-Match": etag } })).status).toBe(304);
});
