// The bounds every upstream blob body passes through, and the Range slicing for registries that ignore Range.
import { describe, expect, test } from "bun:test";
import { OciError } from "../../../src/oci/errors.ts";
import { guardedStream, sliceStream } from "../../../src/oci/stream-guard.ts";

function chunks(...parts: number[][]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(new Uint8Array(part));
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of stream) out.push(...chunk);
  return out;
}

describe("guardedStream", () => {
  test("passes a body within the limits through unchanged", async () => {
    expect(await collect(guardedStream(chunks([1, 2], [3]), { maxBytes: 3, stallMs: 1000, what: "blob x" }))).toEqual([1, 2, 3]);
  });

  test("errors with BLOB_LIMIT once the body passes maxBytes", async () => {
    const error = await collect(guardedStream(chunks([1, 2], [3, 4]), { maxBytes: 3, stallMs: 1000, what: "blob x" })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OciError);
    expect((error as OciError).code).toBe("BLOB_LIMIT");
  });

  test("errors when the source sends nothing for stallMs, and cancels the source", async () => {
    let cancelled = false;
    const silent = new ReadableStream<Uint8Array>({
      pull: () => new Promise<void>(() => {}),
      cancel: () => {
        cancelled = true;
      },
    });
    const error = await collect(guardedStream(silent, { maxBytes: 10, stallMs: 50, what: "blob x" })).catch((caught: unknown) => caught);
    expect(String((error as Error).message)).toContain("sent nothing for 0.05 s");
    expect(cancelled).toBe(true);
  });
});

describe("sliceStream", () => {
  test("cuts [start, start+length) across chunk boundaries", async () => {
    expect(await collect(sliceStream(chunks([0, 1, 2], [3, 4, 5], [6, 7]), 2, 5))).toEqual([2, 3, 4, 5, 6]);
    expect(await collect(sliceStream(chunks([0, 1, 2]), 0, 3))).toEqual([0, 1, 2]);
  });

  test("errors when the source ends before the range does", async () => {
    await expect(collect(sliceStream(chunks([0, 1]), 1, 5))).rejects.toThrow("before the requested range ended");
  });
});
