// Noticing another writer that keeps rewriting the status fields the reconciler owns (typically the Go operator
// still running next to us: it sets state=Ready wherever we say Error, every write wakes the other side, and the two
// flip the object ~25 times a second each). Pure: the reconciler feeds in what each watch event shows and gets back
// whether the object is contested (then its writes back off) and whether to log or record an Event now. Time is
// passed in, so every rule is unit-tested without waiting.
import type { StatusFieldOwner } from "../sources/kube/status-owners.ts";
import { CONDITION_IDENTIFIERS_UNIQUE, CONDITION_READY, type ReconcilerStatus } from "./conditions.ts";

/** The status fields the reconciler applies (see status-owners.ts for the naming). */
export const RECONCILER_STATUS_FIELDS: readonly string[] = ["state", `conditions[${CONDITION_READY}]`, `conditions[${CONDITION_IDENTIFIERS_UNIQUE}]`];

interface Rival {
  manager: string;
  operation: string;
  /** Which of our fields it owns right now. */
  fields: string[];
}

/** Owners of any of `ours` other than `ownManagers`. A whole atomic list ("conditions") covers every entry of it. */
export function rivalsOf(owners: readonly StatusFieldOwner[], ownManagers: ReadonlySet<string>, ours: readonly string[] = RECONCILER_STATUS_FIELDS): Rival[] {
  const rivals: Rival[] = [];
  for (const owner of owners) {
    if (ownManagers.has(owner.manager)) continue;
    const fields = ours.filter((field) => owner.fields.includes(field) || owner.fields.includes(field.replace(/\[.*\]$/, "")));
    if (fields.length > 0) rivals.push({ manager: owner.manager, operation: owner.operation, fields });
  }
  return rivals;
}

/** What the reconciler last applied, as far as its own fields go (times aside): compared with what events show. */
export function ownedStatusFingerprint(status: { state?: string; conditions?: readonly ReconcilerStatus["conditions"][number][] } | undefined): string {
  const conditions = (status?.conditions ?? [])
    .filter((condition) => condition.type === CONDITION_READY || condition.type === CONDITION_IDENTIFIERS_UNIQUE)
    .map((condition) => [condition.type, condition.status, condition.reason, condition.message, condition.observedGeneration ?? null])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return JSON.stringify([status?.state ?? null, conditions]);
}

export interface FightOptions {
  /** Rewrites are counted over this window… */
  windowMs: number;
  /** …and this many of them make a fight (one rewrite is a person or a one-off, several are a loop). */
  threshold: number;
  /** A fight is logged at most this often per object. */
  logIntervalMs: number;
  /** An object with no rewrite for this long is at peace again: a later fight is reported afresh. */
  quietMs: number;
}

export const DEFAULT_FIGHT_OPTIONS: FightOptions = { windowMs: 60_000, threshold: 3, logIntervalMs: 5 * 60_000, quietMs: 10 * 60_000 };

interface FightObservation {
  /** Rewrites within the window, this one included. */
  rewrites: number;
  /** Managers seen rewriting this object in this fight, in order of appearance. */
  managers: string[];
  log: boolean;
  /** True once per fight: record the Warning Event now. */
  event: boolean;
}

interface FightRecord {
  rewrites: number[];
  managers: string[];
  lastRewriteAt: number;
  loggedAt: number | undefined;
  eventRecorded: boolean;
}

export class StatusFightTracker {
  private readonly records = new Map<string, FightRecord>();

  constructor(private readonly options: FightOptions = DEFAULT_FIGHT_OPTIONS) {}

  /** Objects with a recent rewrite (for tests and metrics). */
  get size(): number {
    return this.records.size;
  }

  /** A watch event showed `rivals` holding our fields with values other than the ones we applied. */
  observe(id: string, rivals: readonly Rival[], now: number): FightObservation {
    const { windowMs, threshold, logIntervalMs, quietMs } = this.options;
    const previous = this.records.get(id);
    const record: FightRecord =
      previous && now - previous.lastRewriteAt < quietMs
        ? previous
        : { rewrites: [], managers: [], lastRewriteAt: now, loggedAt: undefined, eventRecorded: false };
    record.rewrites = record.rewrites.filter((at) => now - at < windowMs);
    record.rewrites.push(now);
    record.lastRewriteAt = now;
    for (const rival of rivals) if (!record.managers.includes(rival.manager)) record.managers.push(rival.manager);
    this.records.set(id, record);
    const fighting = record.rewrites.length >= threshold;
    const log = fighting && (record.loggedAt === undefined || now - record.loggedAt >= logIntervalMs);
    if (log) record.loggedAt = now;
    const event = fighting && !record.eventRecorded;
    if (event) record.eventRecorded = true;
    return { rewrites: record.rewrites.length, managers: [...record.managers], log, event };
  }

  /** Someone else rewrote our fields recently: writes to this object should back off instead of answering at once. */
  contested(id: string, now: number): boolean {
    const record = this.records.get(id);
    return record !== undefined && now - record.lastRewriteAt < this.options.windowMs;
  }

  forget(id: string): void {
    this.records.delete(id);
  }

  /** Drops objects at peace, so the tracker only ever holds the contested ones. */
  prune(now: number): void {
    for (const [id, record] of this.records) if (now - record.lastRewriteAt >= this.options.quietMs) this.records.delete(id);
  }

  clear(): void {
    this.records.clear();
  }
}

/** The Event/log text: who, what, how often, and what to do about it. */
export function fightMessage(observation: FightObservation, rivals: readonly Rival[], windowMs: number): string {
  const who = rivals.map((rival) => `field manager "${rival.manager}" (${rival.operation || "unknown operation"}) owns status ${rival.fields.join(", ")}`);
  const managers = observation.managers.map((manager) => `"${manager}"`).join(", ");
  return (
    `another writer keeps rewriting the status this operator owns: ${observation.rewrites} rewrites in ${Math.round(windowMs / 1000)} s ` +
    `by ${managers}${who.length > 0 ? ` (${who.join("; ")})` : ""}. Writes to this object back off meanwhile. ` +
    "If the Go boot-operator still runs, scale it to zero: only one operator may own boot config status."
  );
}
