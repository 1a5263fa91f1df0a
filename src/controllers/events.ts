// Kubernetes Events for status transitions, so `kubectl describe` tells the story. Best effort: an event that
// cannot be written is logged, never retried into a storm.
import { API_GROUP, API_VERSION } from "../api/index.ts";
import type { KubeClient } from "../kube/client.ts";
import type { Logger } from "../observability/log.ts";
import type { ConfigKind } from "./apply.ts";

export class EventRecorder {
  private sequence = 0;
  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly component = "boot-operator",
  ) {}

  async record(kind: ConfigKind, key: string, uid: string | undefined, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    const [namespace, name] = key.split("/") as [string, string];
    const now = new Date().toISOString();
    const eventName = `${name}.${Date.now().toString(16)}${(this.sequence++ % 4096).toString(16)}`;
    try {
      await this.client.request("POST", `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
        body: {
          apiVersion: "v1",
          kind: "Event",
          metadata: { name: eventName, namespace },
          involvedObject: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind, name, namespace, ...(uid ? { uid } : {}) },
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
      this.log.warn("could not record event", { object: `${kind} ${key}`, reason, error: (error as Error).message });
    }
  }
}
