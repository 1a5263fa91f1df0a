// The default iPXE template, optionally replaced by a file that is parsed once and re-parsed when it changes.
// A broken edit keeps the previous template serving and is logged with the line number.
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { DEFAULT_IPXE_TEMPLATE, type IpxeTemplate, parseIpxeTemplate } from "../boot/ipxe-template.ts";
import type { Logger } from "../observability/log.ts";
import { plainErrorMessage } from "./plain-errors.ts";

interface TemplateHolder {
  current(): IpxeTemplate;
  close(): void;
}

export async function loadIpxeTemplate(path: string | undefined, log: Logger): Promise<TemplateHolder> {
  let template = parseIpxeTemplate(DEFAULT_IPXE_TEMPLATE);
  if (!path) return { current: () => template, close: () => {} };
  // A broken template at start is fatal: better to refuse to start than to boot machines with the wrong script.
  template = parseIpxeTemplate(
    await readFile(path, "utf8").catch((error: Error) => {
      throw new Error(`--ipxe-template: ${plainErrorMessage(error)}`);
    }),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reload = async (): Promise<void> => {
    try {
      const next = parseIpxeTemplate(await readFile(path, "utf8"));
      if (next.source !== template.source) {
        template = next;
        log.info("reloaded iPXE template", { file: path });
      }
    } catch (error) {
      log.error("iPXE template not reloaded; still serving the previous one", { file: path, error: (error as Error).message });
    }
  };
  let watcher: FSWatcher | undefined;
  try {
    // Watch the directory: editors replace files by rename, which ends a watch on the file itself.
    const directory = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
    watcher = watch(directory, () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void reload(), 150);
    });
  } catch {
    log.warn("cannot watch the iPXE template; changes need a restart", { file: path });
  }
  const poll = setInterval(() => void reload(), 10_000);
  poll.unref?.();
  return {
    current: () => template,
    close: () => {
      watcher?.close();
      clearInterval(poll);
      if (timer) clearTimeout(timer);
    },
  };
}
