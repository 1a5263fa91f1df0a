// Finds the resource files under a directory, one directory at a time, so that one bad entry (a symlink loop, a
// dangling link, an unreadable subdirectory) is a problem on that entry instead of failing the whole scan, as
// `readdir(…, { recursive: true })` does (it follows symlinks and throws ELOOP). Symlinked directories are
// followed once each (by device and inode), so a link back up the tree cannot recurse forever.
import type { Dirent, Stats } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

const RESOURCE_FILE = /\.(ya?ml|json)$/i;
/** kustomize's own files live beside the resources they list (manifests/samples does this); they are not resources. */
const KUSTOMIZE_FILE = /(^|\/)(kustomization|Kustomization)\.ya?ml$/;

export function isResourceFileName(relativePath: string): boolean {
  return RESOURCE_FILE.test(relativePath) && !KUSTOMIZE_FILE.test(relativePath);
}

interface WalkProblem {
  /** Relative to the walked directory. */
  path: string;
  message: string;
}

interface DirectoryWalk {
  /** Relative paths of resource files, sorted. */
  files: string[];
  /** Entries that look like resource files or directories but cannot be read. */
  problems: WalkProblem[];
  /** Inode of the walked directory itself, to notice it being replaced. */
  rootInode: number;
}

/** Skips dot-entries (ConfigMap volumes keep their real files in `..data` dirs and link to them from the top). */
export async function walkResourceFiles(directory: string): Promise<DirectoryWalk> {
  const rootInfo = await stat(directory).catch(() => null);
  if (!rootInfo?.isDirectory()) throw new Error(`resource directory ${directory} does not exist or is not a directory`);
  const files: string[] = [];
  const problems: WalkProblem[] = [];
  const visited = new Set<string>([inodeKey(rootInfo)]);
  const pending: string[] = [""];
  while (pending.length > 0) {
    const relative = pending.pop() ?? "";
    let entries: Dirent[];
    try {
      entries = await readdir(join(directory, relative), { withFileTypes: true });
    } catch (error) {
      if (relative === "") throw error;
      problems.push({ path: relative, message: `cannot read directory: ${describeError(error)}` });
      continue;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isFile()) {
        if (isResourceFileName(path)) files.push(path);
        continue;
      }
      if (!entry.isDirectory() && !entry.isSymbolicLink()) continue; // sockets, fifos, devices
      let target: Stats;
      try {
        target = await stat(join(directory, path));
      } catch (error) {
        if (isResourceFileName(path)) problems.push({ path, message: `cannot read: ${describeError(error)}` });
        continue;
      }
      if (target.isFile()) {
        if (isResourceFileName(path)) files.push(path);
      } else if (target.isDirectory() && !visited.has(inodeKey(target))) {
        // Each directory once, however many links lead to it (a link to an ancestor would recurse forever).
        visited.add(inodeKey(target));
        pending.push(path);
      }
    }
  }
  files.sort();
  return { files, problems, rootInode: rootInfo.ino };
}

function inodeKey(info: Stats): string {
  return `${info.dev}:${info.ino}`;
}

/** "symlink loop (ELOOP)" reads better than Node's "ELOOP: too many symbolic links encountered, stat '…'". */
export function describeError(error: unknown): string {
  const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : "";
  switch (code) {
    case "ELOOP":
      return "symlink loop (ELOOP)";
    case "ENOENT":
      return "dangling symlink or removed while reading (ENOENT)";
    case "EACCES":
      return "permission denied (EACCES)";
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
