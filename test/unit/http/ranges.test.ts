// The byte-range helper shared by /uki files and cached image-proxy blobs, on in-memory Blobs: no disk, no server.
import { describe, expect, test } from "bun:test";
import { decideRange, rangedResponse, rangeStillValid } from "../../../src/http/ranges.ts";

describe("decideRange", () => {
  test.each([
    [null, 10, { type: "full" }],
    ["bytes=0-4", 10, { type: "partial", range: { start: 0, end: 4 } }],
    ["bytes=5-", 10, { type: "partial", range: { start: 5, end: 9 } }],
    ["bytes=-3", 10, { type: "partial", range: { start: 7, end: 9 } }],
    ["bytes=-30", 10, { type: "partial", range: { start: 0, end: 9 } }],
    ["bytes=8-100", 10, { type: "partial", range: { start: 8, end: 9 } }],
    ["bytes=10-", 10, { type: "unsatisfiable" }],
    ["bytes=-0", 10, { type: "unsatisfiable" }],
    ["bytes=0-1,4-5", 10, { type: "full" }],
    ["bytes=5-2", 10, { type: "full" }],
    ["items=0-1", 10, { type: "full" }],
    ["bytes=-", 10, { type: "full" }],
  ])("%p of %d bytes", (header, size, expected) => expect(decideRange(header, size)).toEqual(expected as never));
});

describe("rangeStillValid (If-Range)", () => {
  const withDate = { etag: '"abc"', mtimeSeconds: 1_700_000_000 };
  test.each([
    [null, withDate, true],
    ['"abc"', withDate, true],
    ['"stale"', withDate, false],
    ['W/"abc"', withDate, false],
    [new Date(1_700_000_000_000).toUTCString(), withDate, true],
    [new Date(1_700_000_001_000).toUTCString(), withDate, false],
    ["garbage", withDate, false],
    // A blob has no modification time: a date never matches, so the whole blob is sent.
    [new Date(1_700_000_000_000).toUTCString(), { etag: '"abc"' }, false],
  ])("%p with %j → %p", (ifRange, validators, expected) => expect(rangeStillValid(ifRange, validators)).toBe(expected));
});

describe("rangedResponse", () => {
  const body = { blob: new Blob(["0123456789"]), size: 10, validators: { etag: '"v1"' }, noun: "blob" };
  const answer = (headers: Record<string, string> = {}, method = "GET"): Response =>
    rangedResponse(new Request("http://x/f", { method, headers }), body, new Headers({ ETag: '"v1"', "Content-Type": "application/efi" }));

  test("no Range: 200, whole body, explicit Content-Length", async () => {
    const response = answer();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe("10");
    expect(await response.text()).toBe("0123456789");
  });
  test("one range: 206 with Content-Range and the slice", async () => {
    const response = answer({ Range: "bytes=2-5" });
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(response.headers.get("content-length")).toBe("4");
    expect(await response.text()).toBe("2345");
  });
  test("past the end: 416 naming the size, a one-line text body", async () => {
    const response = answer({ Range: "bytes=10-20" });
    expect(response.status).toBe(416);
    expect(response.headers.get("content-range")).toBe("bytes */10");
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await response.text()).toBe("requested range is outside the blob\n");
  });
  test("a stale If-Range gets the whole body; a current one the range", async () => {
    expect(answer({ Range: "bytes=0-1", "If-Range": '"v0"' }).status).toBe(200);
    expect(answer({ Range: "bytes=0-1", "If-Range": '"v1"' }).status).toBe(206);
  });
  test("HEAD: same status and lengths, no body", async () => {
    const whole = answer({}, "HEAD");
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-length")).toBe("10");
    expect(await whole.text()).toBe("");
    const partial = answer({ Range: "bytes=-3" }, "HEAD");
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe("bytes 7-9/10");
    expect(partial.headers.get("content-length")).toBe("3");
    expect(await partial.text()).toBe("");
  });
});
