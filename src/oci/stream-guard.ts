// Bounds on a blob body coming from a registry: an upstream that stops sending must not hold a download (and
// every request joined to it) forever, and an endless or oversized blob must end instead of filling disk or a
// machine's memory. Also the slicing the proxy needs when a registry ignores Range.
import { OciError } from "./errors.ts";

interface StreamLimits {
  /** Bytes after which the stream errors (BLOB_LIMIT). */
  maxBytes: number;
  /** Milliseconds without a chunk after which the stream errors (BLOB_LIMIT) and the source is cancelled. */
  stallMs: number;
  /** For the error message, e.g. "blob registry/repo@sha256:…". */
  what: string;
}

export function guardedStream(body: ReadableStream<Uint8Array>, limits: StreamLimits): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let received = 0;
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, message: string): void => {
    void reader.cancel().catch(() => {});
    controller.error(new OciError("BLOB_LIMIT", `${limits.what}: ${message}`));
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const stalled = new Promise<"stalled">((resolve) => {
          timer = setTimeout(() => resolve("stalled"), limits.stallMs);
        });
        let result: Awaited<ReturnType<typeof reader.read>> | "stalled";
        try {
          result = await Promise.race([reader.read(), stalled]);
        } catch (error) {
          controller.error(error);
          return;
        } finally {
          clearTimeout(timer);
        }
        if (result === "stalled") {
          fail(controller, `upstream sent nothing for ${limits.stallMs / 1000} s after ${received} bytes (--upstream-stall-timeout)`);
          return;
        }
        if (result.done) {
          controller.close();
          return;
        }
        received += result.value.byteLength;
        if (received > limits.maxBytes) {
          fail(controller, `larger than --max-blob-bytes (${limits.maxBytes} bytes)`);
          return;
        }
        controller.enqueue(result.value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Bytes [start, start + length) of a stream that starts at byte 0; the source is cancelled once they are out. */
export function sliceStream(body: ReadableStream<Uint8Array>, start: number, length: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let position = 0;
  const end = start + length;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          if (position >= end) {
            void reader.cancel().catch(() => {});
            controller.close();
            return;
          }
          const { done, value } = await reader.read();
          if (done) {
            controller.error(new OciError("UPSTREAM", `upstream ended at byte ${position}, before the requested range ended at ${end}`));
            return;
          }
          const chunkStart = position;
          position += value.byteLength;
          if (position <= start) continue;
          controller.enqueue(value.subarray(Math.max(0, start - chunkStart), Math.min(value.byteLength, end - chunkStart)));
          return;
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
