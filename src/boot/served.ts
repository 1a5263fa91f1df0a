// What the boot routes report after answering a machine, and what the status writers consume. A domain type of
// its own so that controllers depend on the boot vocabulary, not on the HTTP layer.

/** Something a machine fetched; the Kubernetes status writer turns these into conditions. */
export interface ServedEvent {
  milestone: "ipxe-chainload" | "ipxe-script" | "ignition" | "httpboot" | "boot-file";
  kind?: "IPXEBootConfig" | "HTTPBootConfig";
  /** namespace/name of the config that answered. */
  configKey?: string;
  client: string;
  path: string;
  at: Date;
}
