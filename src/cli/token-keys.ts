// Where the boot token keys come from (--ignition-access bound): --token-key-file, re-read when it changes so a
// rotation (new key first, the old one second) needs no restart; or, without one, a random key made at start, so
// tokens die with the process and replicas do not share them (fine for one systemd host, logged). A key file that
// cannot be read at start stops the start; one that breaks later keeps the previous keys in use.
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { parseTokenKeys, type TokenKeys } from "../boot/access/token.ts";
import type { Logger } from "../observability/log.ts";
import { UsageError } from "./flags.ts";

const RELOAD_INTERVAL_MS = 5_000;

export interface TokenKeyHolder {
  keys: () => TokenKeys;
  /** Swap the keys in (a Secret was re-read). */
  set: (keys: TokenKeys) => void;
  close: () => void;
}

export function readTokenKeyFile(path: string): TokenKeys {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`--token-key-file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const parsed = parseTokenKeys(text.split("\n"));
  if (!parsed.ok) throw new UsageError(`--token-key-file ${path}: ${parsed.reason}`);
  return parsed.keys;
}

/** Keys from `path` (watched), or a fresh random key when there is no file. */
export function tokenKeyHolder(path: string | undefined, log: Logger): TokenKeyHolder {
  if (!path) {
    let keys: TokenKeys = { current: randomBytes(32) };
    return { keys: () => keys, set: (next) => (keys = next), close: () => {} };
  }
  let keys = readTokenKeyFile(path);
  let seen = fileStamp(path);
  const timer = setInterval(() => {
    const stamp = fileStamp(path);
    if (stamp === seen) return;
    seen = stamp;
    try {
      keys = readTokenKeyFile(path);
      log.info("boot token keys reloaded", { file: path, keys: keys.previous ? 2 : 1 });
    } catch (error) {
      log.error("cannot reload the boot token keys; keeping the previous ones", { file: path, error: (error as Error).message });
    }
  }, RELOAD_INTERVAL_MS);
  timer.unref?.();
  return { keys: () => keys, set: (next) => (keys = next), close: () => clearInterval(timer) };
}

/** Changes when the file is rewritten or replaced (a Secret volume swaps a symlink). */
function fileStamp(path: string): string {
  try {
    const stat = statSync(path);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return "missing";
  }
}
