// Boot token keys from a Secret (--token-secret NS/NAME, data keys `current` and optionally `previous`), re-read
// periodically on every replica so all replicas sign and verify with the same keys and a rotation (move `current`
// to `previous`, write a new `current`) takes effect within one refresh. At start the Secret must load: serving
// bound tokens with a key no other replica knows would break every boot that crosses replicas. Later failures keep
// the previous keys.
import { parseTokenKeys, type TokenKeys } from "../boot/access/token.ts";
import type { KubeClient } from "../kube/client.ts";
import { parseCacheKey, resourcePath, SECRETS } from "../kube/paths.ts";
import type { Logger } from "../observability/log.ts";

interface SecretObject {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

export class TokenSecretLoader {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastVersion = "";

  constructor(private readonly deps: { client: KubeClient; log: Logger; secret: string; refreshMs?: number; onKeys: (keys: TokenKeys) => void }) {}

  /** Loads once (rejecting when that fails), then keeps refreshing. */
  async start(): Promise<void> {
    await this.load();
    this.timer = setInterval(() => {
      this.load().catch((error: Error) =>
        this.deps.log.error("cannot reload the boot token keys; keeping the previous ones", { secret: this.deps.secret, error: error.message }),
      );
    }, this.deps.refreshMs ?? 15_000);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async load(): Promise<void> {
    const { namespace, name } = parseCacheKey(this.deps.secret);
    const secret = await this.deps.client.request<SecretObject>("GET", resourcePath({ ...SECRETS, namespace, name }));
    const version = secret.metadata?.resourceVersion ?? "";
    if (version !== "" && version === this.lastVersion) return;
    const decode = (key: string): string => (secret.data?.[key] ? Buffer.from(secret.data[key], "base64").toString("utf8") : "");
    const parsed = parseTokenKeys([decode("current"), decode("previous")]);
    if (!parsed.ok) throw new Error(`secret ${this.deps.secret}: ${parsed.reason} (data keys current, previous)`);
    this.deps.onKeys(parsed.keys);
    this.lastVersion = version;
    this.deps.log.info("boot token keys loaded", { secret: this.deps.secret, keys: parsed.keys.previous ? 2 : 1 });
  }
}
