// Content digests, and a stream wrapper that only lets a blob end cleanly when it hashed to its digest.
import { OciError } from "./errors.ts";
import { digestAlgorithm } from "./reference.ts";

export function computeDigest(bytes: Uint8Array, algorithm: "sha256" | "sha512" = "sha256"): string {
  const hasher = new Bun.CryptoHasher(algorithm);
  hasher.update(bytes);
  return `${algorithm}:${hasher.digest("hex")}`;
}

export interface DigestMismatch {
  expected: string;
  actual: string;
  expectedSize: number | undefined;
  actualSize: number;
}

export function describeMismatch(mismatch: DigestMismatch): string {
  if (mismatch.expectedSize !== undefined && mismatch.actualSize !== mismatch.expectedSize) {
    return `blob ${mismatch.expected} has ${mismatch.actualSize} bytes, expected ${mismatch.expectedSize}`;
  }
  return `blob ${mismatch.expected} hashed to ${mismatch.actual}`;
}

/**
 * Passes `source` through while hashing it. The newest chunk is always held back until the next one arrives, so
 * the final bytes are released only after the whole blob verified: on a mismatch the stream errors instead of
 * ending, and the receiver sees a truncated transfer, never a clean end with wrong content. A source longer than
 * `expectedSize` fails as soon as it overruns.
 */
export function verifyingStream(
  source: ReadableStream<Uint8Array>,
  expectedDigest: string,
  expectedSize: number | undefined,
  onMismatch: (mismatch: DigestMismatch) => void,
): ReadableStream<Uint8Array> {
  const algorithm = digestAlgorithm(expectedDigest);
  const hasher = new Bun.CryptoHasher(algorithm);
  const reader = source.getReader();
  let held: Uint8Array | undefined;
  let total = 0;
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, actual: string): void => {
    const mismatch: DigestMismatch = { expected: expectedDigest, actual, expectedSize, actualSize: total };
    onMismatch(mismatch);
    controller.error(new OciError("DIGEST_MISMATCH", describeMismatch(mismatch)));
    reader.cancel().catch(() => {});
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          const result = await reader.read();
          if (result.done) {
            const actual = `${algorithm}:${hasher.digest("hex")}`;
            if (actual !== expectedDigest || (expectedSize !== undefined && total !== expectedSize)) {
              fail(controller, actual);
              return;
            }
            if (held) controller.enqueue(held);
            held = undefined;
            controller.close();
            return;
          }
          const chunk = result.value;
          if (chunk.byteLength === 0) continue;
          hasher.update(chunk);
          total += chunk.byteLength;
          if (expectedSize !== undefined && total > expectedSize) {
            fail(controller, "(longer than expected)");
            return;
          }
          const previous = held;
          held = chunk;
          if (previous) {
            controller.enqueue(previous);
            return;
          }
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
