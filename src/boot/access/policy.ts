// The one object the HTTP layer asks under `--ignition-access bound`: it holds the keys (swapped in place when a key
// file or Secret rotates), the windows and the use counters, and turns requests into the pure decisions of
// decision.ts and windows.ts. Everything about the wire (query strings, status codes, events) stays in src/http.
import { randomBytes } from "node:crypto";
import { type AccessDecision, type ConfigAccessIdentity, decideIgnitionAccess } from "./decision.ts";
import type { TokenKeys } from "./token.ts";
import { type ScriptTokenOutcome, TokenWindows } from "./windows.ts";

export interface IgnitionAccessSettings {
  ttlMs: number;
  maxUses: number;
  keys: () => TokenKeys;
  now?: () => number;
  nonce?: () => string;
}

/** A refusal or contest, for Kubernetes Events (cli/serve-kube.ts) and nothing else. */
export type AccessEvent =
  | { type: "denied"; configKind: "IPXEBootConfig" | "HTTPBootConfig"; configKey: string; reason: string; requester: string }
  | { type: "contested"; configKind: "IPXEBootConfig"; configKey: string; holder: string; requester: string };

export class IgnitionAccessPolicy {
  readonly windows: TokenWindows;
  private readonly now: () => number;

  constructor(private readonly settings: IgnitionAccessSettings) {
    this.now = settings.now ?? Date.now;
    this.windows = new TokenWindows({ ttlMs: settings.ttlMs, nonce: settings.nonce ?? (() => randomBytes(12).toString("base64url")) });
  }

  get maxUses(): number {
    return this.settings.maxUses;
  }

  scriptToken(identity: ConfigAccessIdentity, requester: string | null): ScriptTokenOutcome {
    return this.windows.scriptToken(identity, requester, this.now(), this.settings.keys());
  }

  /** Decides one Ignition fetch and, when a token allowed it, counts the use. */
  admit(config: ConfigAccessIdentity | null, requester: string | null, token: string | null): AccessDecision {
    const nowMs = this.now();
    const decision = decideIgnitionAccess({
      config,
      requester,
      token,
      nowMs,
      keys: this.settings.keys(),
      maxUses: this.settings.maxUses,
      usesOf: (signature) => this.windows.usesOf(signature),
    });
    if (decision.allow && decision.via === "token") this.windows.recordUse(decision.signature, decision.expiresAt * 1000, nowMs);
    return decision;
  }

  /** The same decision without counting a use (explain). */
  preview(config: ConfigAccessIdentity | null, requester: string | null, token: string | null): AccessDecision {
    return decideIgnitionAccess({
      config,
      requester,
      token,
      nowMs: this.now(),
      keys: this.settings.keys(),
      maxUses: this.settings.maxUses,
      usesOf: (signature) => this.windows.usesOf(signature),
    });
  }
}
