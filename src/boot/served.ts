// What the boot routes report after answering a machine, and what the status writers consume. A domain type of
// its own so that controllers depend on the boot vocabulary, not on the HTTP layer.

/** Something a machine fetched; the Kubernetes status writer turns these into conditions. */
export interface ServedEvent {
  milestone:
    | "ipxe-chainload"
    | "ipxe-script"
    | "ignition"
    | "httpboot"
    | "boot-file"
    | "ztp-onie-installer"
    | "ztp-onie-updater"
    | "ztp-config"
    | "ztp-script"
    | "ztp-file";
  kind?: "IPXEBootConfig" | "HTTPBootConfig" | "SwitchBootConfig";
  /** namespace/name of the config that answered. */
  configKey?: string;
  client: string;
  path: string;
  at: Date;
  /** Switches: the ZTP protocol and the versions/facts their client reported (header → value), for the status. */
  ztp?: { protocol: string; reported: Readonly<Record<string, string>> };
}
