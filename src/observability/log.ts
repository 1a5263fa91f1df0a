// Structured JSON logs, one object per line on stderr. Levels are filtered before any object is built, so a
// disabled debug line on the hot path costs one comparison.

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/**
 * Lines are collected and written once per event-loop turn (or at 64 KiB): at info level every boot milestone is a
 * line, and a write syscall per request cost more than the request itself in the boot-storm benchmark. Pending lines
 * are flushed on exit.
 */
function bufferedStderr(): (line: string) => void {
  let pending: string[] = [];
  let size = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    size = 0;
    process.stderr.write(text);
  };
  process.on("exit", flush);
  return (line) => {
    pending.push(line);
    size += line.length;
    if (size >= 64 * 1024) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

let sharedStderr: ((line: string) => void) | undefined;

export function createLogger(level: LogLevel, write?: (line: string) => void): Logger {
  write ??= sharedStderr ??= bufferedStderr();
  const threshold = LOG_LEVELS.indexOf(level);
  const emit = (at: LogLevel, msg: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(at) < threshold) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...fields })}\n`);
  };
  return {
    level,
    enabled: (at) => LOG_LEVELS.indexOf(at) >= threshold,
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
  };
}
