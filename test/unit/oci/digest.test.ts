import { describe, expect, test } from "bun:test";
import { computeDigest, type DigestMismatch, verifyingStream } from "../../../src/oci/digest.ts";

function chunksOf(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.byteLength; offset += size) chunks.push(bytes.slice(offset, offset + size));
  return chunks;
}

function sourceOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

/** Reads until the stream ends or errors; returns what arrived and the error, if any. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<{ received: number; error: unknown }> {
  const reader = stream.getReader();
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { received, error: undefined };
      received += value.byteLength;
    }
  } catch (error) {
    return { received, error };
  }
}

const blob = crypto.getRandomValues(new Uint8Array(10_000));
const digest = computeDigest(blob);

describe("computeDigest", () => {
  test("sha256 and sha512 of known input", () => {
    const abc = new TextEncoder().encode("abc");
    expect(computeDigest(abc)).toBe("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(computeDigest(abc, "sha512")).toStartWith("sha512:ddaf35a193617aba");
  });
});

describe("verifyingStream", () => {
  test("passes every byte through when the digest matches", async () => {
    const mismatches: DigestMismatch[] = [];
    const out = new Uint8Array(
      await new Response(verifyingStream(sourceOf(chunksOf(blob, 999)), digest, blob.byteLength, (m) => mismatches.push(m))).arrayBuffer(),
    );
    expect(out).toEqual(blob);
    expect(mismatches).toEqual([]);
  });

  test("a corrupted blob errors before its last chunk is released", async () => {
    const corrupted = blob.slice();
    corrupted[5000] = (corrupted[5000] ?? 0) ^ 0xff;
    const mismatches: DigestMismatch[] = [];
    const { received, error } = await drain(verifyingStream(sourceOf(chunksOf(corrupted, 1000)), digest, blob.byteLength, (m) => mismatches.push(m)));
    expect(String(error)).toContain("hashed to sha256:");
    expect(received).toBe(9000);
    expect(mismatches).toHaveLength(1);
    expect(mismatches[0]?.expected).toBe(digest);
  });

  test("a single-chunk corrupt blob releases nothing", async () => {
    const corrupted = blob.slice();
    corrupted[0] = (corrupted[0] ?? 0) ^ 1;
    const { received, error } = await drain(verifyingStream(sourceOf([corrupted]), digest, undefined, () => {}));
    expect(error).toBeDefined();
    expect(received).toBe(0);
  });

  test("too short or too long is a mismatch even before hashing", async () => {
    const short = await drain(verifyingStream(sourceOf(chunksOf(blob.slice(0, 9000), 1000)), digest, blob.byteLength, () => {}));
    expect(String(short.error)).toContain("has 9000 bytes, expected 10000");
    const long = new Uint8Array(12_000);
    long.set(blob);
    const overrun = await drain(verifyingStream(sourceOf(chunksOf(long, 4000)), digest, blob.byteLength, () => {}));
    expect(overrun.error).toBeDefined();
    expect(overrun.received).toBeLessThan(blob.byteLength);
  });

  test("an upstream failure mid-way errors the stream", async () => {
    let sent = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 3) controller.enqueue(blob.slice(0, 100));
        else controller.error(new Error("connection reset"));
      },
    });
    const { error } = await drain(verifyingStream(failing, digest, undefined, () => {}));
    expect(String(error)).toContain("connection reset");
  });

  test("cancelling the output cancels the source", async () => {
    let cancelled = false;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(blob.slice(0, 10));
      },
      cancel() {
        cancelled = true;
      },
    });
    const reader = verifyingStream(source, digest, undefined, () => {}).getReader();
    await reader.read();
    await reader.cancel();
    expect(cancelled).toBe(true);
  });
});
