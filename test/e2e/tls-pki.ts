// A throw-away PKI for the HTTPS boot tests in QEMU, made with openssl (scripts/ensure/openssl.sh): a root, an
// unrelated second root, and a leaf for the address the guest dials (10.0.2.2, QEMU user-net's view of the host)
// and for 127.0.0.1 (the test's own requests). RSA 2048 throughout: firmware TLS stacks (EDK2's OpenSSL build
// without EC) handle it, and the SAN holds IP addresses because the guest's URLs name the host by address.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HOST_FROM_GUEST } from "./qemu.ts";

function openssl(args: string[], cwd: string): void {
  const result = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${result.stderr.toString()}`);
}

export interface GuestPki {
  dir: string;
  rootCert: string;
  otherRootCert: string;
  /** Leaf + root, PEM, for --tls-cert-file. */
  chainCert: string;
  key: string;
  pem(path: string): string;
  /** DER bytes of a PEM certificate file (the first certificate in it). */
  der(path: string): Uint8Array;
}

function selfSignedRoot(dir: string, name: string, subject: string): void {
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "30",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-subj",
      subject,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
}

export function makeGuestPki(dir = mkdtempSync(join(tmpdir(), "boot-e2e-pki-"))): GuestPki {
  mkdirSync(dir, { recursive: true });
  selfSignedRoot(dir, "root", "/CN=boot-operator e2e root");
  selfSignedRoot(dir, "other-root", "/CN=boot-operator e2e unrelated root");
  writeFileSync(
    join(dir, "leaf.ext"),
    `subjectAltName=IP:${HOST_FROM_GUEST},IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
  );
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", `/CN=${HOST_FROM_GUEST}`], dir);
  openssl(
    ["x509", "-req", "-in", "leaf.csr", "-CA", "root.crt", "-CAkey", "root.key", "-CAcreateserial", "-days", "30", "-extfile", "leaf.ext", "-out", "leaf.crt"],
    dir,
  );
  const pem = (path: string): string => readFileSync(join(dir, path), "utf8");
  writeFileSync(join(dir, "chain.crt"), pem("leaf.crt") + pem("root.crt"));
  return {
    dir,
    rootCert: join(dir, "root.crt"),
    otherRootCert: join(dir, "other-root.crt"),
    chainCert: join(dir, "chain.crt"),
    key: join(dir, "leaf.key"),
    pem,
    der(path) {
      const body = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(readFileSync(path, "utf8"))?.[1];
      if (body === undefined) throw new Error(`no certificate in ${path}`);
      return Uint8Array.from(Buffer.from(body.replace(/\s+/g, ""), "base64"));
    },
  };
}
