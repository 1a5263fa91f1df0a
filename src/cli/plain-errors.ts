// Errors in words an operator reads at a glance: Node's file-system errors ("ENOENT: no such file or directory,
// open '/x'") become "/x: no such file or directory", and the flags whose paths must exist at start are checked
// before anything listens, so a typo is one line and exit 2 rather than a half-started appliance.
import { stat } from "node:fs/promises";
import { UsageError } from "./flags.ts";

const PLAIN_CODES: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory, not a file",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ELOOP: "too many symbolic links (a symlink loop?)",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this machine",
};

const ACTIONS: Readonly<Record<string, string>> = { mkdir: "cannot create directory", open: "cannot open", scandir: "cannot list", rename: "cannot rename" };

/** The error's message, with a system error's code and syscall said in words; other errors unchanged. */
export function plainErrorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, syscall, path } = error as Error & { code?: unknown; syscall?: unknown; path?: unknown };
  const words = typeof code === "string" ? PLAIN_CODES[code] : undefined;
  if (!words) return error.message;
  const action = typeof syscall === "string" ? ACTIONS[syscall] : undefined;
  if (typeof path === "string") return `${action ? `${action} ` : ""}${path}: ${words}`;
  // The message names the path after the code ("ENOENT: …, open '/x'"); keep what precedes it, if anything.
  const prefix = error.message.split(/\b[A-Z]{4,}\b:/)[0]?.trim() ?? "";
  const quoted = /'([^']+)'/.exec(error.message)?.[1];
  return [prefix.replace(/:$/, ""), quoted ? `${quoted}: ${words}` : words].filter((part) => part !== "").join(": ");
}

/** --uki-dir must name a directory that exists: otherwise every /uki/ download would be a 404 nobody explains. */
export async function checkStartPaths(options: { "uki-dir"?: string | undefined }): Promise<void> {
  const ukiDir = options["uki-dir"];
  if (ukiDir === undefined) return;
  const info = await stat(ukiDir).catch((error: unknown) => error as Error);
  if (info instanceof Error)
    throw new UsageError(`--uki-dir ${ukiDir}: ${plainErrorMessage(info).replace(`${ukiDir}: `, "")}; create it or leave the flag out`);
  if (!info.isDirectory()) throw new UsageError(`--uki-dir ${ukiDir}: is not a directory`);
}
