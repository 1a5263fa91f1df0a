// Kubernetes Events for status transitions, so `kubectl describe` tells the story. Best effort: an event that
// cannot be written is logged, never retried into a storm.
import type { KubeClient } from "../kube/client.ts";
import { apiVersionOf, BOOT_CONFIG_RESOURCES, EVENTS, resourcePath } from "../kube/paths.ts";
import type { Logger } from "../observability/log.ts";
import type { ConfigRef } from "./apply.ts";

export class EventRecorder {
  private sequence = 0;
  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly component = "boot-operator",
  ) {}

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
    const { kind, namespace, name } = involved;
    const now = new Date().toISOString();
    const eventName = `${name}.${Date.now().toString(16)}${(this.sequence++ % 4096).toString(16)}`;
    try {
      await this.client.request("POST", resourcePath({ ...EVENTS, namespace }), {
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
