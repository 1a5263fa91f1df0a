// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics: the holder renews every retry
// period; others take over once the lease has not been renewed for leaseDuration *as observed on their own clock*
// (so clock skew between replicas does not matter); updates carry resourceVersion, so two candidates can never both
// win; a leader that cannot renew within renewDeadline steps down before anyone else may take over. Releasing on
// shutdown hands over at once instead of after leaseDuration.

import { isAlreadyExists, isConflict, isNotFound, type KubeClient } from "../kube/client.ts";
import { apiVersionOf, LEASES, resourcePath } from "../kube/paths.ts";
import type { Logger } from "../observability/log.ts";

interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

/** MicroTime as the API server wants it: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaderElector {
  leading = false;
  private running = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly options: LeaderElectionOptions,
  ) {}

  private get path(): string {
    return resourcePath({ ...LEASES, namespace: this.options.namespace });
  }

  private get leasePath(): string {
    return resourcePath({ ...LEASES, namespace: this.options.namespace, name: this.options.name });
  }

  start(): void {
    this.running = true;
    const tick = async (): Promise<void> => {
      if (!this.running) return;
      const acquired = await this.tryAcquireOrRenew().catch((error: Error) => {
        this.log.warn("leader election request failed", { error: error.message });
        return false;
      });
      if (!this.running) return;
      if (acquired) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.log.info("became leader", { lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity });
          this.options.onStartedLeading();
        }
      } else if (this.leading && Date.now() - this.lastRenew > (this.options.renewDeadlineMs ?? 10_000)) {
        this.leading = false;
        this.log.warn("lost leadership: lease not renewed within the deadline", { identity: this.options.identity });
        this.options.onStoppedLeading();
      }
      const period = this.options.retryPeriodMs ?? 2_000;
      // Jitter so candidates do not hit the API server in lockstep.
      this.timer = setTimeout(() => (this.loop = tick()), this.leading ? period : period * (1 + Math.random() * 0.2));
    };
    this.loop = tick();
  }

  /** Stops campaigning; if leading, gives the lease up so another replica takes over immediately. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.loop;
    if (!this.leading) return;
    this.leading = false;
    this.options.onStoppedLeading();
    try {
      const lease = await this.client.request<Lease>("GET", this.leasePath);
      if (lease.spec.holderIdentity !== this.options.identity) return;
      await this.client.request("PUT", this.leasePath, {
        body: { ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(new Date()) } },
        timeoutMs: 5_000,
      });
      this.log.info("released leadership", { identity: this.options.identity });
    } catch (error) {
      this.log.warn("could not release the lease; another replica takes over when it expires", { error: (error as Error).message });
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const duration = this.options.leaseDurationSeconds ?? 15;
    const mine = { holderIdentity: this.options.identity, leaseDurationSeconds: duration, renewTime: microTime(now) };
    let lease: Lease;
    try {
      lease = await this.client.request<Lease>("GET", this.leasePath, { timeoutMs: 5_000 });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await this.client.request("POST", this.path, {
          body: {
            apiVersion: apiVersionOf(LEASES),
            kind: "Lease",
            metadata: { name: this.options.name, namespace: this.options.namespace },
            spec: { ...mine, acquireTime: microTime(now), leaseTransitions: 0 },
          },
          timeoutMs: 5_000,
        });
        return true;
      } catch (createError) {
        if (isAlreadyExists(createError)) return false; // someone else created it first
        throw createError;
      }
    }
    // Expiry is judged by when *we* last saw the record change, not by the holder's timestamps.
    const record = JSON.stringify(lease.spec);
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: Date.now() };
    const holder = lease.spec.holderIdentity ?? "";
    const heldByOther = holder !== "" && holder !== this.options.identity;
    const expired = Date.now() > this.observed.at + (lease.spec.leaseDurationSeconds ?? duration) * 1000;
    if (heldByOther && !expired) return false;
    const spec: Lease["spec"] =
      holder === this.options.identity
        ? { ...lease.spec, ...mine }
        : { ...mine, acquireTime: microTime(now), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 };
    try {
      await this.client.request("PUT", this.leasePath, { body: { ...lease, spec }, timeoutMs: 5_000 });
      return true;
    } catch (error) {
      if (isConflict(error)) return false; // lost the race; resourceVersion moved
      throw error;
    }
  }
}
