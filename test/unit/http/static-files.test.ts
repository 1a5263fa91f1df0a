import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contentTypeFor, notModified, resolveInside, validatorsFor } from "../../../src/http/static-files.ts";

describe("conditional requests", () => {
  const validators = validatorsFor({ size: 100, mtimeMs: 1_700_000_000_500, ino: 42 });
  test("strong ETag from mtime, size and inode; Last-Modified at second resolution", () => {
    expect(validators.etag).toBe(`"${Math.floor(1_700_000_000_500).toString(16)}-64-2a"`);
    expect(validators.lastModified).toBe(new Date(1_700_000_000_000).toUTCString());
  });
  test.each([
    [{ "if-none-match": validators.etag }, true],
    [{ "if-none-match": `W/${validators.etag}` }, true],
    [{ "if-none-match": `"a", ${validators.etag}` }, true],
    [{ "if-none-match": "*" }, true],
    [{ "if-none-match": '"other"' }, false],
    [{ "if-none-match": '"other"', "if-modified-since": new Date(1_800_000_000_000).toUTCString() }, false],
    [{ "if-modified-since": new Date(1_700_000_000_000).toUTCString() }, true],
    [{ "if-modified-since": new Date(1_699_999_999_000).toUTCString() }, false],
    [{ "if-modified-since": "garbage" }, false],
  ])("%j → %p", (headers, expected) => expect(notModified(new Headers(headers), validators)).toBe(expected));
});

test("content types", () => {
  expect(contentTypeFor("/x/BOOT.EFI")).toBe("application/efi");
  expect(contentTypeFor("/x/vmlinuz")).toBe("application/octet-stream");
});

describe("resolveInside", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "resolve-"));
    await mkdir(join(root, "dir", "a"), { recursive: true });
    await writeFile(join(root, "dir", "a", "f.efi"), "x");
    await writeFile(join(root, "outside"), "secret");
    await symlink(join(root, "outside"), join(root, "dir", "link-out"));
    await symlink(join(root, "dir", "a", "f.efi"), join(root, "dir", "link-in"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));
  const inDir = (path: string) => resolveInside(join(root, "dir"), path);
  test("files, nested and percent-encoded names", async () => {
    expect(await inDir("a/f.efi")).toEqual({ ok: true, absolute: join(root, "dir", "a", "f.efi") });
    expect((await inDir("a/%66.efi")).ok).toBe(true);
    expect((await inDir("link-in")).ok).toBe(true);
  });
  test.each([
    ["../outside", 404],
    ["a/../../outside", 404],
    ["..%2foutside", 400],
    ["a%5c..%5coutside", 400],
    ["a/f.efi%00", 400],
    ["%E0%A4%A", 400],
    ["link-out", 404],
    ["", 404],
    ["missing", 404],
  ])("%p → %d", async (path, status) => expect(await inDir(path)).toMatchObject({ ok: false, status }));
});
