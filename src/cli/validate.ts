// `boot-operator validate DIR`: every problem a directory of resources has, one line each, and a non-zero exit
// when any is an error. Checks what `serve` would: schemas, duplicates, conflicts, secrets, Butane, scripts.

import { readFile } from "node:fs/promises";
import { diagnoseAll } from "../boot/diagnose.ts";
import { parseIpxeTemplate } from "../boot/ipxe-template.ts";
import { BootStore } from "../boot/store.ts";
import { describeConflict } from "../index/boot-index.ts";
import { formatProblem } from "../index/snapshot.ts";
import { loadDirectoryOnce } from "../sources/files/directory-source.ts";

interface ValidateReport {
  errors: string[];
  warnings: string[];
  summary: string;
}

export async function validateDirectory(directory: string, ipxeTemplatePath?: string): Promise<ValidateReport> {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (ipxeTemplatePath) {
    try {
      parseIpxeTemplate(await readFile(ipxeTemplatePath, "utf8"));
    } catch (error) {
      errors.push(`${ipxeTemplatePath}: ${(error as Error).message}`);
    }
  }
  const update = await loadDirectoryOnce(directory);
  const store = new BootStore();
  store.apply(update);
  for (const problem of update.problems) (problem.severity === "error" ? errors : warnings).push(formatProblem(problem));
  for (const conflict of store.index.conflicts) warnings.push(`conflict: ${describeConflict(conflict)}`);
  for (const diagnosis of diagnoseAll(store.index, store)) {
    for (const problem of diagnosis.problems) {
      if (problem.reason === "IdentifierConflict") continue; // already listed once above
      errors.push(`${diagnosis.kind} ${diagnosis.key}: ${problem.message}`);
    }
    for (const warning of diagnosis.warnings) warnings.push(`${diagnosis.kind} ${diagnosis.key}: ${warning}`);
  }
  const index = store.index;
  const switches = index.switchBootConfigs.length > 0 ? `${index.switchBootConfigs.length} SwitchBootConfig, ` : "";
  const summary = `${index.ipxeBootConfigs.length} IPXEBootConfig, ${index.httpBootConfigs.length} HTTPBootConfig, ${switches}${index.secrets.size} Secret; ${errors.length} error(s), ${warnings.length} warning(s)`;
  return { errors, warnings, summary };
}
