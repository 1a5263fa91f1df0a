// Pull credentials for the OCI client from a kubernetes.io/dockerconfigjson Secret (--registry-credentials-secret),
// re-read periodically so a rotated password takes effect without a restart. A bad or missing Secret is logged and the
// previous credentials stay in use. New credentials are announced (onChange) so images that failed for want of
// them are retried at once rather than at their next backoff.

import type { KubeClient } from "../kube/client.ts";
import { parseCacheKey, resourcePath, SECRETS } from "../kube/paths.ts";
import type { Logger } from "../observability/log.ts";
import { type OciClient, parseDockerConfigJson } from "../oci/index.ts";

interface SecretObject {
  type?: string;
  data?: Record<string, string>;
}

export class RegistryCredentialsLoader {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastVersion = "";

  constructor(private readonly deps: { client: KubeClient; oci: OciClient; log: Logger; secret: string; refreshMs?: number; onChange?: () => void }) {}

  /** Loads once (awaited, so the first translation already has credentials), then keeps refreshing. */
  async start(): Promise<void> {
    await this.load();
    this.timer = setInterval(() => void this.load(), this.deps.refreshMs ?? 60_000);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async load(): Promise<void> {
    const { namespace, name } = parseCacheKey(this.deps.secret);
    try {
      const secret = await this.deps.client.request<SecretObject & { metadata?: { resourceVersion?: string } }>(
        "GET",
        resourcePath({ ...SECRETS, namespace, name }),
      );
      const version = secret.metadata?.resourceVersion ?? "";
      if (version === this.lastVersion) return;
      const encoded = secret.data?.[".dockerconfigjson"] ?? secret.data?.[".dockercfg"];
      if (!encoded) throw new Error(`secret ${this.deps.secret} has no .dockerconfigjson key (type ${secret.type ?? "?"})`);
      const credentials = parseDockerConfigJson(Buffer.from(encoded, "base64"));
      this.deps.oci.setCredentials(credentials);
      this.lastVersion = version;
      this.deps.log.info("registry credentials loaded", { secret: this.deps.secret, registries: [...credentials.keys()] });
      this.deps.onChange?.();
    } catch (error) {
      this.deps.log.error("cannot load registry credentials; keeping the previous ones", { secret: this.deps.secret, error: (error as Error).message });
    }
  }
}
