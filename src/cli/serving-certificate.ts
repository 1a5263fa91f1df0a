// The HTTPS listener's certificate over its life: read and checked at start (a problem is a usage error, exit 2,
// naming the file), re-read when its feed says it may have changed (files through a directory watch, so a
// cert-manager symlink swap is seen; a Secret through its watch), swapped in only when the new pair is whole, and
// otherwise kept while the refusal is logged, counted and reported (Kubernetes: a Warning Event). It also keeps
// the expiry gauge and the 14-day warning, and builds what /certs serves.
import { watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  buildTrustBundle,
  type CertificateFeed,
  checkServingPair,
  expiresSoon,
  type PairRead,
  type ParsedCertificate,
  parsePemCertificates,
  type ServingPair,
  servingAnchor,
  type TrustBundle,
} from "../boot/trust-formats.ts";
import type { TlsFiles } from "../http/server.ts";
import type { Logger } from "../observability/log.ts";
import type { BootMetrics } from "../observability/metrics.ts";
import { UsageError } from "./flags.ts";

async function readText(path: string, flag: string): Promise<{ ok: true; text: string } | { ok: false; file: string; reason: string }> {
  try {
    return { ok: true, text: await readFile(path, "utf8") };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "does not exist" : code === "EACCES" ? "cannot be read (permission denied)" : `cannot be read (${(error as Error).message})`;
    return { ok: false, file: `${flag} ${path}`, reason };
  }
}

/** --ca-file bundles, each certificate parsed; a broken one stops the start naming its file and position. */
export async function loadCaFiles(paths: readonly string[]): Promise<{ path: string; position: number; certificate: ParsedCertificate }[]> {
  const loaded: { path: string; position: number; certificate: ParsedCertificate }[] = [];
  for (const path of paths) {
    const read = await readText(path, "--ca-file");
    if (!read.ok) throw new UsageError(`${read.file}: ${read.reason}`);
    const parsed = parsePemCertificates(read.text);
    if (!parsed.ok) throw new UsageError(`--ca-file ${path}: ${parsed.reason}`);
    for (const [index, certificate] of parsed.certificates.entries()) loaded.push({ path, position: index + 1, certificate });
  }
  return loaded;
}

/**
 * --tls-cert-file/--tls-key-file. Both directories are watched rather than the files: cert-manager's csi driver and
 * kubelet's Secret volumes replace files by swapping a symlink (..data), which a watch on the old file never sees.
 */
export function fileCertificateFeed(certFile: string, keyFile: string): CertificateFeed {
  const names = { cert: `--tls-cert-file ${certFile}`, key: `--tls-key-file ${keyFile}` };
  return {
    description: `${certFile}, ${keyFile}`,
    async read(): Promise<PairRead> {
      const [cert, key] = await Promise.all([readText(certFile, "--tls-cert-file"), readText(keyFile, "--tls-key-file")]);
      if (!cert.ok) return cert;
      if (!key.ok) return key;
      return { ok: true, source: { certPem: cert.text, keyPem: key.text, names } };
    },
    watch(onChange) {
      const directories = [...new Set([dirname(resolve(certFile)), dirname(resolve(keyFile))])];
      const watchers = directories.map((directory) => {
        const watcher = watch(directory, { persistent: false }, () => onChange());
        // A directory that goes away ends its watch; the poll below keeps looking (and reports the missing file).
        watcher.on("error", () => watcher.close());
        return watcher;
      });
      // A watch can miss events (an NFS mount, the directory itself replaced): a slow poll catches up.
      const poll = setInterval(onChange, 30_000);
      poll.unref();
      return () => {
        for (const watcher of watchers) watcher.close();
        clearInterval(poll);
      };
    },
  };
}

interface ServingCertificateDeps {
  feed: CertificateFeed;
  /** Read once at start; a changed --ca-file needs a restart. */
  caFiles: readonly { path: string; position: number; certificate: ParsedCertificate }[];
  log: Logger;
  metrics: BootMetrics;
  /** A refused change or a certificate about to expire, for the Kubernetes Warning Event. */
  onProblem?: (reason: "CertificateReloadFailed" | "CertificateExpiringSoon", message: string) => void;
  now?: () => Date;
  /** Quiet time after a change notification before the files are read (writers touch both files in turn). */
  settleMs?: number;
}

const EXPIRY_CHECK_INTERVAL_MS = 3600_000;

export class ServingCertificate {
  private pair: ServingPair | undefined;
  private anchor: ParsedCertificate | undefined;
  private bundle: TrustBundle;
  private onRotate: ((tls: TlsFiles) => void) | undefined;
  private stopWatching: (() => void) | undefined;
  private expiryTimer: ReturnType<typeof setInterval> | undefined;
  private settleTimer: ReturnType<typeof setTimeout> | undefined;
  private reloading: Promise<void> = Promise.resolve();
  /** The text last seen, so a notification for an unrelated file in the directory changes nothing. */
  private lastSeen = "";

  constructor(private readonly deps: ServingCertificateDeps) {
    this.bundle = buildTrustBundle(
      deps.caFiles.map((entry) => entry.certificate),
      undefined,
    );
    for (const entry of deps.caFiles) {
      deps.metrics.certificateExpiry.set({ certificate: `${entry.path}#${entry.position}` }, Date.parse(entry.certificate.x509.validTo) / 1000);
    }
  }

  /** What /certs serves now. */
  trust(): TrustBundle {
    return this.bundle;
  }

  /** Reads and checks the first pair; any problem is a UsageError naming the file. */
  async load(): Promise<TlsFiles> {
    const read = await this.deps.feed.read();
    if (!read.ok) throw new UsageError(`${read.file}: ${read.reason}`);
    const checked = checkServingPair(read.source.certPem, read.source.keyPem, read.source.names);
    if (!checked.ok) throw new UsageError(`${checked.file}: ${checked.reason}`);
    const anchor = this.anchorOf(read.source.caPem, checked.pair);
    if (!anchor.ok) throw new UsageError(anchor.reason);
    this.install(checked.pair, anchor.certificate);
    this.lastSeen = fingerprintOf(read.source.certPem, read.source.keyPem, read.source.caPem);
    this.checkExpiry();
    return { cert: checked.pair.certPem, key: checked.pair.keyPem };
  }

  /** From now on, changes are watched and each accepted pair is handed to `onRotate` (the listener swap). */
  watch(onRotate: (tls: TlsFiles) => void): void {
    this.onRotate = onRotate;
    this.stopWatching = this.deps.feed.watch(() => this.changed());
    this.expiryTimer = setInterval(() => this.checkExpiry(), EXPIRY_CHECK_INTERVAL_MS);
    this.expiryTimer.unref();
  }

  stop(): void {
    this.stopWatching?.();
    clearInterval(this.expiryTimer);
    clearTimeout(this.settleTimer);
  }

  /** Resolves when the reload triggered by the latest notification is done (tests, shutdown). */
  settled(): Promise<void> {
    return this.reloading;
  }

  private changed(): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      // A failure here must not end the chain: every later change still has to be looked at.
      this.reloading = this.reloading
        .then(() => this.reload())
        .catch((error: Error) => this.deps.log.error("serving certificate reload failed unexpectedly", { error: error.message }));
    }, this.deps.settleMs ?? 200);
  }

  private async reload(): Promise<void> {
    const read = await this.deps.feed.read();
    if (!read.ok) {
      const seen = `unreadable ${read.file}: ${read.reason}`;
      if (seen === this.lastSeen) return;
      this.lastSeen = seen;
      return this.refuse(read.file, read.reason);
    }
    const seen = fingerprintOf(read.source.certPem, read.source.keyPem, read.source.caPem);
    if (seen === this.lastSeen) return;
    this.lastSeen = seen;
    const checked = checkServingPair(read.source.certPem, read.source.keyPem, read.source.names);
    if (!checked.ok) return this.refuse(checked.file, checked.reason);
    const anchor = this.anchorOf(read.source.caPem, checked.pair);
    if (!anchor.ok) return this.refuse(read.source.names.ca ?? read.source.names.cert, anchor.reason);
    try {
      this.onRotate?.({ cert: checked.pair.certPem, key: checked.pair.keyPem });
    } catch (error) {
      return this.refuse(read.source.names.cert, `the TLS listener refused it (${(error as Error).message})`);
    }
    const previous = this.pair;
    this.install(checked.pair, anchor.certificate);
    this.deps.log.info("serving certificate rotated", {
      source: this.deps.feed.description,
      serial: checked.pair.serial,
      sha256: checked.pair.chain[0]?.sha256,
      notAfter: checked.pair.notAfter.toISOString(),
      previousSerial: previous?.serial,
    });
    this.checkExpiry();
  }

  /** Reported once per broken state (reload() skips what it saw last), not at every poll. */
  private refuse(file: string, reason: string): void {
    this.deps.metrics.certificateReloadFailures.inc();
    const message = `${file}: ${reason}; still serving the previous certificate (serial ${this.pair?.serial ?? "?"})`;
    this.deps.log.error("serving certificate not reloaded", { file, reason, serial: this.pair?.serial });
    this.deps.onProblem?.("CertificateReloadFailed", message);
  }

  private anchorOf(caPem: string | undefined, pair: ServingPair): { ok: true; certificate: ParsedCertificate | undefined } | { ok: false; reason: string } {
    const caFiles = this.deps.caFiles.map((entry) => entry.certificate);
    if (caPem === undefined || caPem.trim() === "") return { ok: true, certificate: servingAnchor(pair.chain, undefined, caFiles) };
    const parsed = parsePemCertificates(caPem);
    if (!parsed.ok) return { ok: false, reason: `ca.crt: ${parsed.reason}` };
    return { ok: true, certificate: servingAnchor(pair.chain, parsed.certificates[0], caFiles) };
  }

  private install(pair: ServingPair, anchor: ParsedCertificate | undefined): void {
    this.pair = pair;
    this.anchor = anchor;
    this.bundle = buildTrustBundle(
      this.deps.caFiles.map((entry) => entry.certificate),
      this.anchor,
    );
    this.deps.metrics.certificateExpiry.set({ certificate: "serving" }, pair.notAfter.getTime() / 1000);
  }

  private checkExpiry(): void {
    const now = this.deps.now?.() ?? new Date();
    const soon = [
      ...(this.pair ? [{ name: `serving certificate (${this.deps.feed.description})`, notAfter: this.pair.notAfter }] : []),
      ...this.deps.caFiles.map((entry) => ({
        name: `--ca-file ${entry.path} certificate ${entry.position}`,
        notAfter: new Date(entry.certificate.x509.validTo),
      })),
    ].filter((entry) => expiresSoon(entry.notAfter, now));
    for (const entry of soon) {
      const days = Math.floor((entry.notAfter.getTime() - now.getTime()) / 86_400_000);
      const message = `${entry.name} expires ${entry.notAfter.toISOString()} (${days < 0 ? "already expired" : `in ${days} days`})`;
      this.deps.log.warn("certificate expires soon", { certificate: entry.name, notAfter: entry.notAfter.toISOString(), days });
      this.deps.onProblem?.("CertificateExpiringSoon", message);
    }
  }
}

function fingerprintOf(...texts: (string | undefined)[]): string {
  return texts.map((text) => `${text?.length ?? -1}:${text ?? ""}`).join("|");
}
