// Boot token keys from a Secret (--token-secret [NS/]NAME, data keys `current` and optionally `previous`), read from
// the Secrets the source already watches: no extra RBAC (the shipped Role grants list/watch, not get), and every
// replica sees a rotation (move `current` to `previous`, write a new `current`) as soon as its watch delivers it, so
// all replicas sign and verify with the same keys. A Secret that breaks or disappears later keeps the previous keys.
import { parseTokenKeys, type TokenKeys } from "../boot/access/token.ts";
import type { BootIndex } from "../index/boot-index.ts";

export type TokenSecretState = { state: "loaded"; keys: TokenKeys; changed: boolean } | { state: "missing" } | { state: "invalid"; reason: string };

export class TokenSecretKeys {
  private lastValues = "";

  /** `secret` is "namespace/name". */
  constructor(readonly secret: string) {}

  /** The keys as the index has them now; `changed` tells whether they differ from the last call's. */
  read(index: BootIndex): TokenSecretState {
    const entry = index.secrets.get(this.secret);
    if (!entry) return { state: "missing" };
    const current = entry.values.get("current") ?? "";
    const previous = entry.values.get("previous") ?? "";
    if (current.trim() === "") return { state: "invalid", reason: `secret ${this.secret} has no data key "current"` };
    const parsed = parseTokenKeys([current, previous]);
    if (!parsed.ok) return { state: "invalid", reason: `secret ${this.secret}: ${parsed.reason} (data keys current, previous)` };
    const values = `${current}\u0000${previous}`;
    const changed = values !== this.lastValues;
    this.lastValues = values;
    return { state: "loaded", keys: parsed.keys, changed };
  }
}
