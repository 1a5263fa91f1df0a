// /uki/{path} in process: files from --uki-dir with validators, ranges, HEAD, and no way out of the directory.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestApp, testApp } from "./harness.ts";

let work: string;
let subject: TestApp;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "uki-route-"));
  const uki = join(work, "uki");
  await mkdir(join(uki, "sub"), { recursive: true });
  await writeFile(join(uki, "boot.efi"), Buffer.alloc(1000, 7));
  await writeFile(join(uki, "sub", "initrd.img"), "0123456789");
  await writeFile(join(work, "secret.txt"), "outside the uki dir");
  await symlink(join(work, "secret.txt"), join(uki, "escape"));
  subject = testApp({}, { settings: { ukiDir: uki } });
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe("/uki", () => {
  test("GET: the file, typed by extension, with strong validators; the download is reported", async () => {
    subject.served.length = 0;
    const response = await subject.request("/uki/boot.efi", { from: "10.0.0.3" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/efi");
    expect(response.headers.get("content-length")).toBe("1000");
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(response.headers.get("etag")).toMatch(/^"[0-9a-f]+-3e8-[0-9a-f]+"$/);
    expect((await response.arrayBuffer()).byteLength).toBe(1000);
    expect(subject.served).toMatchObject([{ milestone: "boot-file", client: "10.0.0.3", path: "/uki/boot.efi" }]);
  });

  test("bytes sent are counted per download route; a HEAD's are not, nor a generated answer's", async () => {
    const counted = async (): Promise<string> =>
      (await (await subject.request("/metrics")).text())
        .split("\n")
        .filter((line) => line.startsWith("boot_operator_http_response_bytes_total"))
        .join("\n");
    const before = await counted();
    await (await subject.request("/uki/boot.efi")).arrayBuffer();
    await (await subject.request("/uki/sub/initrd.img", { headers: { Range: "bytes=2-5" } })).arrayBuffer();
    await subject.request("/uki/boot.efi", { method: "HEAD" });
    await (await subject.request("/ipxe")).arrayBuffer();
    const line = (await counted()).split("\n").find((text) => text.includes('route="/uki/*"'));
    const previous = Number(
      before
        .split("\n")
        .find((text) => text.includes('route="/uki/*"'))
        ?.split(" ")[1] ?? 0,
    );
    expect(Number(line?.split(" ")[1]) - previous).toBe(1004);
    expect(await counted()).not.toContain('route="/ipxe"');
  });

  test("HEAD: the real Content-Length, no body, no download reported", async () => {
    subject.served.length = 0;
    const response = await subject.request("/uki/boot.efi", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe("1000");
    expect(await response.text()).toBe("");
    expect(subject.served).toEqual([]);
  });

  test("ranges: 206, 416, and the whole file for several ranges", async () => {
    const partial = await subject.request("/uki/sub/initrd.img", { headers: { Range: "bytes=2-5" } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(await partial.text()).toBe("2345");
    const beyond = await subject.request("/uki/sub/initrd.img", { headers: { Range: "bytes=10-" } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe("bytes */10");
    expect(await beyond.text()).toBe("requested range is outside the file\n");
    const several = await subject.request("/uki/sub/initrd.img", { headers: { Range: "bytes=0-1,3-4" } });
    expect(several.status).toBe(200);
    expect(await several.text()).toBe("0123456789");
  });

  test("conditional requests: If-None-Match / If-Modified-Since → 304; a stale If-Range → whole file", async () => {
    const first = await subject.request("/uki/sub/initrd.img");
    const etag = first.headers.get("etag") ?? "";
    const lastModified = first.headers.get("last-modified") ?? "";
    await first.arrayBuffer();
    const cached = await subject.request("/uki/sub/initrd.img", { headers: { "If-None-Match": etag } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get("etag")).toBe(etag);
    expect((await subject.request("/uki/sub/initrd.img", { headers: { "If-Modified-Since": lastModified } })).status).toBe(304);
    expect((await subject.request("/uki/sub/initrd.img", { headers: { Range: "bytes=0-1", "If-Range": '"stale"' } })).status).toBe(200);
    expect((await subject.request("/uki/sub/initrd.img", { headers: { Range: "bytes=0-1", "If-Range": etag } })).status).toBe(206);
  });

  test.each([
    ["/uki/..%2fsecret.txt", 400],
    ["/uki/%2e%2e/secret.txt", 404],
    ["/uki/boot.efi%00.png", 400],
    ["/uki/escape", 404],
    ["/uki/sub", 404],
    ["/uki/missing.efi", 404],
    ["/uki/%E0%A4%A", 400],
  ])("%p → %d, one line, nothing from outside", async (path, status) => {
    const response = await subject.request(path);
    expect(response.status).toBe(status);
    const body = await response.text();
    expect(body).not.toContain("outside the uki dir");
    expect(body.trim().split("\n")).toHaveLength(1);
  });

  test("without --uki-dir every path is a 404 that says so", async () => {
    const response = await testApp().request("/uki/boot.efi");
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("no --uki-dir is configured on this appliance\n");
  });
});
