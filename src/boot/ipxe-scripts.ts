// Custom iPXE scripts from secrets (key `ipxe-script`). They may use the default template's fields, so they are
// parsed like templates: once per secret content.
import { SECRET_KEY_IPXE_SCRIPT } from "../api/index.ts";
import type { BootIndex, SecretEntry } from "../index/boot-index.ts";
import { type IpxeTemplate, parseIpxeTemplate } from "./ipxe-template.ts";
import { type Servable, unservable } from "./verdict.ts";

type IpxeScriptOutcome = Servable<{ template: IpxeTemplate }>;

export class IpxeScriptCache {
  private readonly entries = new Map<string, { source: string; outcome: IpxeScriptOutcome }>();

  outcomeFor(entry: SecretEntry): IpxeScriptOutcome {
    const source = entry.values.get(SECRET_KEY_IPXE_SCRIPT);
    if (source === undefined) return unservable(404, "SecretKeyMissing", `secret ${entry.key} has no key "${SECRET_KEY_IPXE_SCRIPT}"`);
    const cached = this.entries.get(entry.key);
    if (cached && cached.source === source) return cached.outcome;
    let outcome: IpxeScriptOutcome;
    try {
      outcome = { ok: true, template: parseIpxeTemplate(source) };
    } catch (error) {
      outcome = unservable(500, "IPXEScriptInvalid", `ipxe-script in secret ${entry.key}: ${(error as Error).message}`);
    }
    this.entries.set(entry.key, { source, outcome });
    return outcome;
  }

  prune(index: BootIndex): void {
    for (const key of this.entries.keys()) if (!index.secrets.has(key)) this.entries.delete(key);
  }
}
