// The issue-once state behind boot tokens: per config, the current boot window (who the token went to) and per
// token how often it was used. A token anyone could get by asking for the script would protect nothing, so the
// first script fetch in a window takes it; that address gets the same token again (iPXE retries), any other
// address gets none and is reported as a contest. In memory, per process, bounded: with several replicas each
// keeps its own windows and counters (see README "Ignition access"). Pure: the caller passes clock and randomness.
import type { ConfigAccessIdentity } from "./decision.ts";
import { encodeToken, type TokenKeys } from "./token.ts";

interface Window {
  /** uid|generation|rearm when the window opened: a different one means the config changed, a new window. */
  trigger: string;
  /** Bumped by an explicit re-open (the translator's SBC turned Ready). */
  epoch: number;
  holder: string | null;
  token: string | null;
  /** The key that signed `token`: after a rotation the holder gets a token of the new key. */
  signedWith: Uint8Array | null;
  expiresAtMs: number;
}

export type ScriptTokenOutcome =
  | { kind: "issued"; token: string; expiresAtMs: number }
  | { kind: "repeated"; token: string; expiresAtMs: number }
  | { kind: "contested"; holder: string }
  /** The requester's address could not be worked out: no token, and the window stays open. */
  | { kind: "unknown-requester" };

export interface TokenWindowsOptions {
  ttlMs: number;
  /** Configs with window state kept; the least recently opened are forgotten beyond it (they re-open). */
  maxConfigs?: number;
  /** Tokens with a use count kept; expired ones go first. */
  maxTokens?: number;
  /** 12 random bytes, base64url: the nonce that makes each issued token unique. */
  nonce: () => string;
}

export class TokenWindows {
  private readonly windows = new Map<string, Window>();
  private readonly epochs = new Map<string, number>();
  private readonly uses = new Map<string, { count: number; expiresAtMs: number }>();

  constructor(private readonly options: TokenWindowsOptions) {}

  /** A new boot window for the config from now on (SBC Ready, an admin's re-arm): the next script fetch takes it. */
  open(configId: string): void {
    this.epochs.set(configId, (this.epochs.get(configId) ?? 0) + 1);
    this.bound(this.epochs, this.options.maxConfigs ?? 10_000);
  }

  /**
   * The token for a script fetch by `requester`. A window opens on first sight of a config (creation, or this
   * process starting), when its uid, generation or re-arm value changes, and on open().
   */
  scriptToken(identity: ConfigAccessIdentity, requester: string | null, nowMs: number, keys: TokenKeys): ScriptTokenOutcome {
    const trigger = `${identity.uid}|${identity.generation}|${identity.rearm}`;
    const epoch = this.epochs.get(identity.configId) ?? 0;
    let window = this.windows.get(identity.configId);
    if (!window || window.trigger !== trigger || window.epoch !== epoch) {
      window = { trigger, epoch, holder: null, token: null, signedWith: null, expiresAtMs: 0 };
      this.windows.delete(identity.configId);
      this.windows.set(identity.configId, window);
      this.bound(this.windows, this.options.maxConfigs ?? 10_000);
    }
    if (requester === null) return { kind: "unknown-requester" };
    if (window.holder !== null && window.holder !== requester) return { kind: "contested", holder: window.holder };
    const first = window.holder === null;
    // The holder asking after its token expired (a slow retry) gets a fresh one: the window is still its own.
    // So does a holder whose token was signed with a key that has since been rotated out of signing.
    const resign = window.signedWith === null || !Buffer.from(window.signedWith).equals(keys.current);
    if (window.token === null || window.expiresAtMs <= nowMs || resign) {
      const expiresAt = Math.floor((nowMs + this.options.ttlMs) / 1000);
      window.token = encodeToken({ ...identity, expiresAt, nonce: this.options.nonce() }, keys.current);
      window.signedWith = keys.current;
      window.expiresAtMs = expiresAt * 1000;
    }
    window.holder = requester;
    return { kind: first ? "issued" : "repeated", token: window.token, expiresAtMs: window.expiresAtMs };
  }

  usesOf(signature: string): number {
    return this.uses.get(signature)?.count ?? 0;
  }

  /** One Ignition fetch made with this token (after it was allowed). */
  recordUse(signature: string, expiresAtMs: number, nowMs: number): void {
    const entry = this.uses.get(signature);
    if (entry) {
      entry.count++;
      return;
    }
    const limit = this.options.maxTokens ?? 50_000;
    if (this.uses.size >= limit) for (const [key, value] of this.uses) if (value.expiresAtMs <= nowMs) this.uses.delete(key);
    this.uses.set(signature, { count: 1, expiresAtMs });
    this.bound(this.uses, limit);
  }

  /** Who holds the config's current window, for explain and tests. */
  holderOf(configId: string): string | null {
    return this.windows.get(configId)?.holder ?? null;
  }

  private bound<V>(map: Map<string, V>, limit: number): void {
    while (map.size > limit) {
      const oldest = map.keys().next();
      if (oldest.done) return;
      map.delete(oldest.value);
    }
  }
}
