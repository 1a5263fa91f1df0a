import type { ServeOptions } from "../../cli/options.ts";

export async function runKubeServe(_options: ServeOptions): Promise<void> {
  throw new Error("--source kube is not available in this build yet");
}
