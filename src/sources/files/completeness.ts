// Whether a just-changed file is the complete new version or a writer's intermediate state. Editors that write in
// place, `cat >`, scp and cp all truncate the file first and then write it in pieces; serving each piece as the
// new truth would take machines' configs away mid-write (162 of 168 probes got 404 during a 1 s write). So a
// version that is empty, or young and looks cut off (no final newline; or, for a file that serves resources, does
// not parse, has invalid documents or lacks resources it served before), is held back: the file keeps serving its
// last complete version until a complete one arrives or the version has stayed unchanged for the settle period
// (then it is judged as it is, errors and all).
import type { DecodedFile } from "./documents.ts";

export interface FileVersionFacts {
  decoded: DecodedFile;
  /** Ids (kind/namespace/name) the new version defines, valid or not. */
  ids: ReadonlySet<string>;
  blank: boolean;
  endsWithNewline: boolean;
  /** Ids the file serves right now. */
  servedIds: ReadonlySet<string>;
  /** How long this exact version has existed (by its mtime, or since first seen, whichever is longer). */
  ageMs: number;
  settleMs: number;
}

type Verdict = { complete: true } | { complete: false; reason: string; recheckInMs: number | undefined };

export function judgeVersion(facts: FileVersionFacts): Verdict {
  if (facts.servedIds.size > 0 && facts.blank) {
    // Never settles: removing a file's resources is done by deleting the file, not by emptying it.
    return { complete: false, reason: "is empty (being written?)", recheckInMs: undefined };
  }
  if (facts.ageMs >= facts.settleMs) return { complete: true };
  const recheckInMs = facts.settleMs - facts.ageMs;
  // A value cut mid-line still parses (`kernelURL: http://mirr`): never serve a young version without its newline.
  if (!facts.endsWithNewline && !facts.blank) return { complete: false, reason: "does not end with a newline yet (being written?)", recheckInMs };
  // The rest only protects what the file serves; a file serving nothing has its problems reported at once.
  if (facts.servedIds.size === 0) return { complete: true };
  if (!facts.decoded.ok) return { complete: false, reason: "does not parse yet (being written?)", recheckInMs };
  if (facts.decoded.documents.some((document) => !document.ok && !document.ignored)) {
    return { complete: false, reason: "has invalid documents (being written?)", recheckInMs };
  }
  const missing = [...facts.servedIds].filter((id) => !facts.ids.has(id)).length;
  if (missing > 0) return { complete: false, reason: `lacks ${missing} resource(s) it defined before (being written?)`, recheckInMs };
  return { complete: true };
}
