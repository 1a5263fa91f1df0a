// --tls-secret: the HTTPS certificate from a kubernetes.io/tls Secret (as cert-manager writes it: tls.crt, tls.key,
// ca.crt), kept current by a reflector on that one Secret (a LIST+WATCH with a name field selector, with the same
// backoff, stall detection and resync as the boot-config watches), so a renewal is served within a watch event.
import type { CertificateFeed, PairRead } from "../../boot/trust-formats.ts";
import type { KubeClient } from "../../kube/client.ts";
import { parseCacheKey, resourcePath, SECRETS } from "../../kube/paths.ts";
import { type KubeObjectLike, Reflector } from "./reflector.ts";

interface TlsSecretObject extends KubeObjectLike {
  type?: string;
  data?: Record<string, string>;
  metadata?: KubeObjectLike["metadata"] & { uid?: string };
}

export class TlsSecretFeed implements CertificateFeed {
  readonly description: string;
  private readonly reflector: Reflector;
  private readonly listeners = new Set<() => void>();
  private readonly key: string;
  private synced: Promise<void>;
  private markSynced: () => void = () => {};

  constructor(client: KubeClient, secret: string, options: { stallTimeoutMs?: number; onWatchError?: (error: Error, retryInMs: number) => void } = {}) {
    const { namespace, name } = parseCacheKey(secret);
    this.key = secret;
    this.description = `Secret ${secret}`;
    this.synced = new Promise((resolve) => {
      this.markSynced = resolve;
    });
    this.reflector = new Reflector(client, {
      path: resourcePath({ ...SECRETS, namespace }),
      fieldSelector: `metadata.name=${name}`,
      ...(options.stallTimeoutMs ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
      onChanges: () => {
        for (const listener of this.listeners) listener();
      },
      onSynced: () => this.markSynced(),
      onError: (error, _phase, retryInMs) => options.onWatchError?.(error, retryInMs),
    });
  }

  /** Starts the watch and waits for its first LIST (bounded: an unreachable API server is a start-up error). */
  async start(timeoutMs = 30_000): Promise<void> {
    this.reflector.start();
    const timedOut = await Promise.race([this.synced.then(() => false), Bun.sleep(timeoutMs).then(() => true)]);
    if (timedOut) throw new Error(`${this.description}: could not be listed within ${timeoutMs / 1000} s`);
  }

  stop(): Promise<void> {
    return this.reflector.stop();
  }

  /** The Secret's UID, for Events about it. */
  uid(): string | undefined {
    return (this.reflector.objects.get(this.key) as TlsSecretObject | undefined)?.metadata?.uid;
  }

  async read(): Promise<PairRead> {
    const object = this.reflector.objects.get(this.key) as TlsSecretObject | undefined;
    const file = this.description;
    if (!object) return { ok: false, file, reason: "does not exist" };
    if (object.type !== "kubernetes.io/tls") return { ok: false, file, reason: `has type ${object.type ?? "(none)"}, not kubernetes.io/tls` };
    const decode = (field: string): string | undefined => {
      const value = object.data?.[field];
      return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
    };
    const certPem = decode("tls.crt");
    const keyPem = decode("tls.key");
    if (!certPem) return { ok: false, file: `${file} tls.crt`, reason: "is missing or empty" };
    if (!keyPem) return { ok: false, file: `${file} tls.key`, reason: "is missing or empty" };
    const caPem = decode("ca.crt");
    return {
      ok: true,
      source: {
        certPem,
        keyPem,
        ...(caPem ? { caPem } : {}),
        names: { cert: `${file} tls.crt`, key: `${file} tls.key`, ca: `${file} ca.crt` },
      },
    };
  }

  watch(onChange: () => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }
}
