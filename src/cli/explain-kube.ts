// `explain --source kube`: the resources as the API server has them right now, read once (LIST, as the watching
// source starts) and never written, so explain can run with read-only credentials and next to a running appliance.
import type { BootStore } from "../boot/store.ts";
import { isNotFound, KubeClient } from "../kube/client.ts";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import { KubeSource } from "../sources/kube/kube-source.ts";

interface KubeExplainOptions {
  kubeconfig?: string | undefined;
  namespace: string;
  "secret-label-selector": string;
}

/** How long the first LIST of every kind may take before explain gives up (a server that never answers). */
const LIST_TIMEOUT_MS = 30_000;

export async function loadKubeOnce(store: BootStore, options: KubeExplainOptions): Promise<void> {
  const client = new KubeClient(loadKubeConfig(options.kubeconfig));
  let failed: (error: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => {
    failed = reject;
  });
  const source = new KubeSource(client, {
    namespace: options.namespace,
    keepStatus: true, // for status.lastBoot
    ...(options["secret-label-selector"] ? { secretLabelSelector: options["secret-label-selector"] } : {}),
    // The watching source retries for ever; a one-shot read says what went wrong at the first failure instead.
    onWatchError: (kind, error) => {
      // A cluster installed for the Go operator has no SwitchBootConfig CRD; the source settles it empty.
      if (kind === "SwitchBootConfig" && isNotFound(error)) return;
      failed(new Error(`cannot read ${kind}s from ${client.server}: ${error.message}`));
    },
  });
  const timer = setTimeout(() => failed(new Error(`${client.server} did not answer the LISTs within ${LIST_TIMEOUT_MS / 1000} s`)), LIST_TIMEOUT_MS);
  try {
    await Promise.race([source.start((update) => store.apply(update)), failure]);
  } finally {
    clearTimeout(timer);
    await source.stop();
  }
}
