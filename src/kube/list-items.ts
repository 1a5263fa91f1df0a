// A LIST answer split into its items, each parsed on its own, instead of one string parsed whole. At 10 000 boot
// configs a restart's IPXEBootConfig LIST is ~32 MiB of JSON, half of it managedFields; parsed whole it stood in the
// heap three times at once (the text, every full object, the trimmed copies kept), and the heap's capacity stayed at
// ~200 MiB for a live ~75 MiB. Item by item, besides the answer's bytes (outside the JS heap) and what is kept, only
// one item's text and full object exist at a time. The splitter takes chunks, so it also works on a streamed body.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The list without its items (kind, apiVersion, metadata with resourceVersion and continue). */
export interface ListEnvelope {
  metadata?: { resourceVersion?: string; continue?: string };
  [key: string]: unknown;
}

/**
 * Splits the bytes of a JSON list object (`{"kind":…,"metadata":{…},"items":[{…},{…}]}`) into the text of each item
 * of its top-level `items` array, across chunk boundaries; the rest, with `"items":[]`, is the envelope, parsed at
 * the end. Only JSON's structure is tracked (strings, with their escapes, and nesting), not its values: an item that
 * is not valid JSON fails when the caller parses it. Pure: feed it chunks, it hands over each item as soon as it is complete.
 */
export class ListItemSplitter {
  private readonly decoder = new TextDecoder();
  /** Open braces and brackets outside strings. */
  private depth = 0;
  private inString = false;
  /** The last byte of the previous chunk was a backslash escaping the first byte of this one. */
  private escaped = false;
  /** Inside the top-level items array. */
  private inItems = false;
  /** An item started in an earlier chunk: its bytes so far (copies). */
  private itemParts: Uint8Array[] = [];
  private inItem = false;
  private readonly envelope: Uint8Array[] = [];

  push(chunk: Uint8Array, onItem: (text: string) => void): void {
    // Where the current stretch of this chunk began: an item's first byte, or the envelope's next bytes.
    let stretch = 0;
    let i = 0;
    const n = chunk.length;
    if (this.inString && this.escaped && n > 0) {
      this.escaped = false;
      i = 1;
    }
    while (i < n) {
      if (this.inString) {
        i = this.skipString(chunk, i);
        continue;
      }
      const byte = chunk[i];
      if (byte === QUOTE) {
        this.inString = true;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (this.inItems && this.depth === 2) {
          if (byte !== OPEN_BRACE) throw new Error("list answer: an item that is not an object");
          this.inItem = true;
          stretch = i;
        } else if (!this.inItems && this.depth === 1 && byte === OPEN_BRACKET && this.keyBefore(chunk.subarray(stretch, i)) === "items") {
          this.envelope.push(chunk.slice(stretch, i + 1));
          this.inItems = true;
        }
        this.depth++;
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        this.depth--;
        if (this.inItem && this.depth === 2) {
          onItem(this.itemText(chunk.subarray(stretch, i + 1)));
          this.inItem = false;
        } else if (this.inItems && this.depth === 1) {
          this.inItems = false;
          stretch = i;
        }
        if (this.depth < 0) throw new Error("list answer: unbalanced brackets");
      }
      i++;
    }
    // A copy: the stream may hand the same buffer back with the next chunk in it.
    if (this.inItem) this.itemParts.push(chunk.slice(stretch));
    else if (!this.inItems) this.envelope.push(chunk.slice(stretch));
  }

  /** The envelope once the answer has ended; throws when it ended inside the JSON. */
  end(): ListEnvelope {
    if (this.depth !== 0 || this.inString) throw new Error("list answer ended early (incomplete JSON)");
    if (this.envelope.every((part) => part.length === 0)) throw new Error("list answer is empty");
    const text = this.decoder.decode(Buffer.concat(this.envelope));
    const envelope: unknown = JSON.parse(text);
    if (typeof envelope !== "object" || envelope === null || Array.isArray(envelope)) throw new Error("list answer is not a JSON object");
    return envelope as ListEnvelope;
  }

  /** From inside a string at `i`: the index after its closing quote, or the chunk's end (the string goes on). */
  private skipString(chunk: Uint8Array, from: number): number {
    let i = from;
    for (;;) {
      const quote = chunk.indexOf(QUOTE, i);
      if (quote < 0) {
        // Whether the chunk ends in an odd run of backslashes, escaping the next chunk's first byte.
        let run = 0;
        for (let k = chunk.length - 1; k >= i && chunk[k] === BACKSLASH; k--) run++;
        this.escaped = run % 2 === 1;
        return chunk.length;
      }
      let run = 0;
      for (let k = quote - 1; k >= i && chunk[k] === BACKSLASH; k--) run++;
      if (run % 2 === 0) {
        this.inString = false;
        return quote + 1;
      }
      i = quote + 1;
    }
  }

  /** The key an array at the top level belongs to: the envelope so far ends with `"key":`. */
  private keyBefore(tail: Uint8Array): string | undefined {
    const text = this.decoder.decode(Buffer.concat([...this.envelope, tail])).trimEnd();
    const match = /"([^"\\]*)"\s*:$/.exec(text);
    return match?.[1];
  }

  private itemText(last: Uint8Array): string {
    if (this.itemParts.length === 0) return this.decoder.decode(last);
    this.itemParts.push(last);
    const text = this.decoder.decode(Buffer.concat(this.itemParts));
    this.itemParts = [];
    return text;
  }
}
