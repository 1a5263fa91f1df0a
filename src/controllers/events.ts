// Kubernetes Events for status transitions, so `kubectl describe` tells the story. Best effort: an event that
// cannot be written is logged, never retried into a storm. A few at a time: a fresh fleet's first statuses bring one
// Event each, and writing them alongside the statuses halved the rate at which statuses went out. The status
// reconciler's Events also wait while its statuses are still going out (`deferWhile`): a machine's status is what
// the fleet waits for, the story can follow. At 10 000 machines the 20 000 first-Ready Events, written alongside,
// held the last start-up status back by ~3.5 s (37.7 → 34.1 s).
import type { KubeClient } from "../kube/client.ts";
import { apiVersionOf, BOOT_CONFIG_RESOURCES, EVENTS, resourcePath } from "../kube/paths.ts";
import type { Logger } from "../observability/log.ts";
import type { ConfigRef } from "./apply.ts";

/** Events written at once; the rest wait their turn, so status writes keep most of the API server's throughput. */
const EVENTS_IN_FLIGHT = 4;
/** Events waiting beyond this are dropped (best effort): a fleet's worth, not an unbounded backlog. */
const MAX_WAITING_EVENTS = 20_000;
/** A deferred Event goes out after this long even if the statuses are still busy: a story late, never lost. */
const MAX_DEFER_MS = 60_000;
/** How often deferred Events look whether the statuses are done (one timer for all of them). */
const DEFER_POLL_MS = 250;

interface EventRecorderOptions {
  /** `source.component` and `reportingComponent`. */
  component?: string;
  maxInFlight?: number;
  /** While this says true, new Events wait (at most `maxDeferMs`) before taking a slot. */
  deferWhile?: () => boolean;
  maxDeferMs?: number;
  deferPollMs?: number;
}

/** Events waiting for `deferWhile` to clear, oldest first: their deadlines grow in the same order. */
interface Deferred {
  release: () => void;
  deadline: number;
}

export class EventRecorder {
  private sequence = 0;
  private inFlight = 0;
  /** FIFO of writers waiting for a slot; `head` is the next one (no O(n) shift per event at a fleet's backlog). */
  private waiting: (() => void)[] = [];
  private head = 0;
  private dropping = false;
  private deferred: Deferred[] = [];
  private deferredHead = 0;
  private deferTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly component: string;
  private readonly maxInFlight: number;

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly options: EventRecorderOptions = {},
  ) {
    this.component = options.component ?? "boot-operator";
    this.maxInFlight = options.maxInFlight ?? EVENTS_IN_FLIGHT;
  }

  /** Events deferred, queued or being written (for tests and shutdown). */
  get pending(): number {
    return this.deferred.length - this.deferredHead + this.inFlight + this.waiting.length - this.head;
  }

  async record(ref: ConfigRef, uid: string | undefined, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    const { kind, namespace, name } = ref;
    await this.recordOn({ apiVersion: apiVersionOf(BOOT_CONFIG_RESOURCES[kind]), kind, namespace, name, ...(uid ? { uid } : {}) }, type, reason, message);
  }

  /** An Event on any object (the --tls-secret Secret), for the same `kubectl describe` story. */
  async recordOn(
    involved: { apiVersion: string; kind: string; namespace: string; name: string; uid?: string },
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    const deferring = this.options.deferWhile?.() === true;
    if ((deferring || this.inFlight >= this.maxInFlight) && this.pending - this.inFlight >= MAX_WAITING_EVENTS) {
      if (!this.dropping) this.log.warn("too many events waiting to be written; dropping new ones until the backlog shrinks", { waiting: MAX_WAITING_EVENTS });
      this.dropping = true;
      return;
    }
    if (deferring) await this.defer();
    // A deferred Event released while the slots are full queues for one like any other.
    if (this.inFlight >= this.maxInFlight) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.inFlight++;
    try {
      await this.write(involved, type, reason, message);
    } finally {
      // The slot passes straight to the next waiter (inFlight unchanged), or is freed.
      const next = this.waiting[this.head];
      if (next) {
        this.head++;
        if (this.head === this.waiting.length) {
          this.waiting = [];
          this.head = 0;
        }
        next();
      } else {
        this.inFlight--;
        this.dropping = false;
      }
    }
  }

  /** Resolves once `deferWhile` clears or this Event has waited `maxDeferMs`. */
  private defer(): Promise<void> {
    return new Promise<void>((release) => {
      this.deferred.push({ release, deadline: Date.now() + (this.options.maxDeferMs ?? MAX_DEFER_MS) });
      if (!this.deferTimer) this.armDeferTimer();
    });
  }

  /** One timer for every deferred Event; it must not keep a stopping process alive. */
  private armDeferTimer(): void {
    this.deferTimer = setTimeout(() => this.releaseDeferred(), this.options.deferPollMs ?? DEFER_POLL_MS);
    this.deferTimer.unref();
  }

  private releaseDeferred(): void {
    this.deferTimer = undefined;
    const all = this.options.deferWhile?.() !== true;
    const now = Date.now();
    while (this.deferredHead < this.deferred.length) {
      const next = this.deferred[this.deferredHead] as Deferred;
      if (!all && next.deadline > now) break;
      this.deferredHead++;
      next.release();
    }
    if (this.deferredHead === this.deferred.length) {
      this.deferred = [];
      this.deferredHead = 0;
    } else this.armDeferTimer();
  }

  private async write(
    involved: { apiVersion: string; kind: string; namespace: string; name: string; uid?: string },
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    const { kind, namespace, name } = involved;
    const now = new Date().toISOString();
    const eventName = `${name}.${Date.now().toString(16)}${(this.sequence++ % 4096).toString(16)}`;
    try {
      await this.client.request("POST", resourcePath({ ...EVENTS, namespace }), {
        discardBody: true,
        body: {
          apiVersion: "v1",
          kind: "Event",
          metadata: { name: eventName, namespace },
          involvedObject: involved,
          reason,
          message: message.slice(0, 1024),
          type,
          source: { component: this.component },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          reportingComponent: this.component,
        },
      });
    } catch (error) {
      this.log.warn("could not record event", { object: `${kind} ${namespace}/${name}`, reason, error: (error as Error).message });
    }
  }
}
