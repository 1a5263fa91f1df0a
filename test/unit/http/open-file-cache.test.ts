// The kept descriptors behind /uki: a repeat request is answered from the descriptor, and every change that would
// make serveFile answer differently (file replaced, changed, deleted, a link or a parent directory pointed outside)
// sends the request back to serveFile instead.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFile, link, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OpenFileCache, serveFile } from "../../../src/http/static-files.ts";

let work: string;
let root: string;
let cache: OpenFileCache;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "open-file-cache-"));
  root = join(work, "uki");
  await mkdir(join(root, "d"), { recursive: true });
  await writeFile(join(root, "boot.efi"), "first");
  await writeFile(join(root, "d", "initrd"), "inside-d");
  await mkdir(join(work, "outside"));
  await writeFile(join(work, "outside", "secret"), "SECRET");
  cache = new OpenFileCache();
});
afterEach(() => rm(work, { recursive: true, force: true }));

const get = (headers: Record<string, string> = {}) => new Request("http://localhost/uki/x", { headers });

/** What the full path answers, keeping the descriptor in the cache. */
async function prime(...segments: string[]): Promise<Response> {
  return serveFile(get(), root, join(root, ...segments), { cache, segments });
}

/** How many of this process's descriptors are open on `path`. */
async function descriptorsOf(path: string): Promise<number> {
  const fds = await readdir("/proc/self/fd");
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => "")));
  return targets.filter((target) => target === path).length;
}

describe("OpenFileCache", () => {
  test("a repeat request is answered from the kept descriptor, with the same headers, ranges and 304", async () => {
    const first = await prime("boot.efi");
    expect(await first.text()).toBe("first");
    expect(cache.size).toBe(1);
    const again = cache.answer(get(), root, ["boot.efi"]);
    expect(again?.status).toBe(200);
    expect(again?.headers.get("content-length")).toBe("5");
    expect(again?.headers.get("etag")).toBe(first.headers.get("etag"));
    expect(again?.headers.get("content-type")).toBe("application/efi");
    expect(await again?.text()).toBe("first");
    const ranged = cache.answer(get({ Range: "bytes=1-3" }), root, ["boot.efi"]);
    expect(ranged?.status).toBe(206);
    expect(ranged?.headers.get("content-range")).toBe("bytes 1-3/5");
    expect(await ranged?.text()).toBe("irs");
    expect(cache.answer(get({ "If-None-Match": first.headers.get("etag") ?? "" }), root, ["boot.efi"])?.status).toBe(304);
    expect(cache.answer(get({ Range: "bytes=9-" }), root, ["boot.efi"])?.status).toBe(416);
  });

  test("opened again while kept and unchanged (a cold storm): one descriptor stays, the extra ones are closed", async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => prime("boot.efi")));
    expect(await Promise.all(answers.map((answer) => answer.text()))).toEqual(Array(5).fill("first"));
    expect(cache.size).toBe(1);
    await Bun.sleep(50); // closes are asynchronous
    expect(await descriptorsOf(join(root, "boot.efi"))).toBe(1);
  });

  test("nothing kept for a name: null", async () => {
    expect(cache.answer(get(), root, ["boot.efi"])).toBeNull();
  });

  test("a file replaced by rename, or changed in place, is not answered from the old descriptor", async () => {
    await prime("boot.efi");
    await writeFile(join(root, "new"), "second");
    await rename(join(root, "new"), join(root, "boot.efi"));
    expect(cache.answer(get(), root, ["boot.efi"])).toBeNull();
    expect(cache.size).toBe(0);
    await prime("boot.efi");
    await appendFile(join(root, "boot.efi"), "+more");
    expect(cache.answer(get(), root, ["boot.efi"])).toBeNull();
  });

  test("a deleted file is not answered, and its descriptor is let go", async () => {
    await prime("boot.efi");
    await unlink(join(root, "boot.efi"));
    expect(cache.answer(get(), root, ["boot.efi"])).toBeNull();
    expect(cache.size).toBe(0);
  });

  test("a name swapped to a link outside the root is not answered", async () => {
    await prime("boot.efi");
    await symlink(join(work, "outside", "secret"), join(root, "tmp-link"));
    await rename(join(root, "tmp-link"), join(root, "boot.efi"));
    expect(cache.answer(get(), root, ["boot.efi"])).toBeNull();
  });

  test("the same inode, now linked only from outside and reached through a link, is not answered (ctime moved)", async () => {
    await prime("boot.efi");
    // Inode times have the kernel's coarse clock (a few ms): let it tick, so unlink moves ctime.
    await Bun.sleep(20);
    await link(join(root, "boot.efi"), join(work, "outside", "moved"));
    await unlink(join(root, "boot.efi"));
    await symlink(join(work, "outside", "moved"), join(root, "boot.efi"));
    expect(cache.answer(get(), root, ["boot.efi"])).toBeNull();
  });

  test("a parent directory moved outside (and linked back) is not answered, though the file itself is unchanged", async () => {
    await prime("d", "initrd");
    expect(cache.answer(get(), root, ["d", "initrd"])).not.toBeNull();
    await rename(join(root, "d"), join(work, "outside", "d"));
    await symlink(join(work, "outside", "d"), join(root, "d"));
    expect(cache.answer(get(), root, ["d", "initrd"])).toBeNull();
  });

  test("bounded: past maxFiles the oldest descriptor is let go", async () => {
    const small = new OpenFileCache({ maxFiles: 1 });
    await serveFile(get(), root, join(root, "boot.efi"), { cache: small, segments: ["boot.efi"] });
    await serveFile(get(), root, join(root, "d", "initrd"), { cache: small, segments: ["d", "initrd"] });
    expect(small.size).toBe(1);
    expect(small.answer(get(), root, ["boot.efi"])).toBeNull();
    expect(await small.answer(get(), root, ["d", "initrd"])?.text()).toBe("inside-d");
  });
});
