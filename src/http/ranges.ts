// Byte ranges for bodies whose bytes are at hand (a file in --uki-dir, a verified blob in the cache): one single
// range (RFC 9110 §14), If-Range, 416 and HEAD, done once for both. The body is a Blob slice — for a Bun.file that
// goes out with sendfile, so a 1 GiB UKI never passes through memory.

type ByteRange = { start: number; end: number };
type RangeDecision = { type: "full" } | { type: "partial"; range: ByteRange } | { type: "unsatisfiable" };

/**
 * RFC 9110 single byte range. Malformed headers and multiple ranges are answered with the whole body (the RFC lets
 * a server ignore Range); a well-formed range that starts past the end is 416.
 */
export function decideRange(header: string | null, size: number): RangeDecision {
  if (!header) return { type: "full" };
  const match = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header.trim());
  if (!match) return { type: "full" };
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return { type: "full" };
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return { type: "unsatisfiable" };
    return { type: "partial", range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return { type: "full" };
  if (start >= size) return { type: "unsatisfiable" };
  return { type: "partial", range: { start, end } };
}

/** What identifies the client's copy: the ETag, and the modification time where the body has one. */
interface RangeValidators {
  etag: string;
  mtimeSeconds?: number;
}

/** If-Range (RFC 9110 §13.1.5): a range applies only while the client's copy is current (ETag or exact date). */
export function rangeStillValid(ifRange: string | null, validators: RangeValidators): boolean {
  if (ifRange === null) return true;
  if (ifRange.startsWith('"')) return ifRange === validators.etag;
  if (validators.mtimeSeconds === undefined) return false;
  const date = Date.parse(ifRange);
  return !Number.isNaN(date) && date === validators.mtimeSeconds * 1000;
}

interface RangedBody {
  /** The whole body; sliced for a range. */
  blob: Blob;
  size: number;
  validators: RangeValidators;
  /** "file" or "blob": names the thing in the 416 message. */
  noun: string;
}

/**
 * 200 with the whole body, 206 with one range, or 416; HEAD gets the same status and headers without a body.
 * Content-Length is always set explicitly: Hono answers HEAD with a zero length otherwise.
 */
export function rangedResponse(request: Request, body: RangedBody, headers: Headers): Response {
  const { size } = body;
  const decision = rangeStillValid(request.headers.get("if-range"), body.validators)
    ? decideRange(request.headers.get("range"), size)
    : { type: "full" as const };
  if (decision.type === "unsatisfiable") {
    headers.set("Content-Range", `bytes */${size}`);
    headers.set("Content-Type", "text/plain; charset=utf-8");
    return new Response(`requested range is outside the ${body.noun}\n`, { status: 416, headers });
  }
  const isHead = request.method === "HEAD";
  if (decision.type === "partial") {
    const { start, end } = decision.range;
    headers.set("Content-Range", `bytes ${start}-${end}/${size}`);
    headers.set("Content-Length", String(end - start + 1));
    return new Response(isHead ? null : body.blob.slice(start, end + 1), { status: 206, headers });
  }
  headers.set("Content-Length", String(size));
  return new Response(isHead ? null : body.blob, { status: 200, headers });
}
