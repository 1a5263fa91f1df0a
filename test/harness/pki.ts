// A throw-away PKI made with openssl (scripts/ensure/openssl.sh) for the TLS tests: a root, an intermediate it
// signed, leaves for 127.0.0.1/localhost signed by the intermediate (each a new serial, for rotation tests), and an
// unrelated second root. Real certificates from the real tool, never checked-in fixtures that expire. Also the PKI of
// the QEMU HTTPS boot test (test/e2e/https-boot.test.ts), with the options it needs: RSA keys and its own SANs.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function openssl(args: string[], cwd: string): void {
  const result = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${result.stderr.toString()}`);
}

/**
 * "ec-p256" (the default) or "rsa-2048": firmware TLS stacks (EDK2's OpenSSL build without EC) handle only RSA.
 */
export type PkiKeyAlgorithm = "ec-p256" | "rsa-2048";

export interface TestPkiOptions {
  /** Where the files go; a new temporary directory by default. */
  dir?: string;
  keyAlgorithm?: PkiKeyAlgorithm;
  /** The leaves' subjectAltName entries ("IP:…", "DNS:…"); by default IP:127.0.0.1 and DNS:localhost. */
  leafSubjectAltNames?: string[];
}

/** The openssl arguments that make a new key of the algorithm (for `openssl req -newkey`). */
function newKeyArgs(algorithm: PkiKeyAlgorithm): string[] {
  return algorithm === "rsa-2048" ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
}

/** keyUsage for a server leaf: RSA key exchange (TLS 1.2 without ECDHE) also enciphers with the key. */
function leafKeyUsage(algorithm: PkiKeyAlgorithm): string {
  return algorithm === "rsa-2048" ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature";
}

export interface TestPki {
  dir: string;
  rootCert: string;
  intermediateCert: string;
  otherRootCert: string;
  /** A new leaf (key, and chain leaf + intermediate + root) under `name`; files in `dir`. */
  leaf(name: string, options?: { days?: number }): { cert: string; key: string; chainPem: string; keyPem: string };
  pem(path: string): string;
  /** DER bytes of a PEM certificate file (the first certificate in it). */
  der(path: string): Uint8Array;
}

function selfSignedCa(dir: string, name: string, subject: string, algorithm: PkiKeyAlgorithm): void {
  openssl(
    [
      "req",
      "-x509",
      ...newKeyArgs(algorithm),
      "-nodes",
      "-days",
      "3650",
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

export function makeTestPki(options: TestPkiOptions = {}): TestPki {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "boot-operator-pki-"));
  const algorithm = options.keyAlgorithm ?? "ec-p256";
  const subjectAltNames = options.leafSubjectAltNames ?? ["IP:127.0.0.1", "DNS:localhost"];
  mkdirSync(dir, { recursive: true });
  selfSignedCa(dir, "root", "/CN=boot-operator test root", algorithm);
  selfSignedCa(dir, "other-root", "/CN=boot-operator unrelated root", algorithm);
  writeFileSync(join(dir, "ca.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n");
  writeFileSync(join(dir, "leaf.ext"), `subjectAltName=${subjectAltNames.join(",")}\nextendedKeyUsage=serverAuth\nkeyUsage=${leafKeyUsage(algorithm)}\n`);
  openssl(
    ["req", ...newKeyArgs(algorithm), "-nodes", "-keyout", "intermediate.key", "-out", "intermediate.csr", "-subj", "/CN=boot-operator test intermediate"],
    dir,
  );
  openssl(
    [
      "x509",
      "-req",
      "-in",
      "intermediate.csr",
      "-CA",
      "root.crt",
      "-CAkey",
      "root.key",
      "-CAcreateserial",
      "-days",
      "3650",
      "-extfile",
      "ca.ext",
      "-out",
      "intermediate.crt",
    ],
    dir,
  );
  const pem = (path: string): string => readFileSync(join(dir, path), "utf8");
  return {
    dir,
    rootCert: join(dir, "root.crt"),
    intermediateCert: join(dir, "intermediate.crt"),
    otherRootCert: join(dir, "other-root.crt"),
    pem,
    der(path) {
      const body = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(readFileSync(path, "utf8"))?.[1];
      if (body === undefined) throw new Error(`no certificate in ${path}`);
      return Uint8Array.from(Buffer.from(body.replace(/\s+/g, ""), "base64"));
    },
    leaf(name, leafOptions = {}) {
      openssl(["req", ...newKeyArgs(algorithm), "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
      openssl(
        [
          "x509",
          "-req",
          "-in",
          `${name}.csr`,
          "-CA",
          "intermediate.crt",
          "-CAkey",
          "intermediate.key",
          "-CAcreateserial",
          "-days",
          String(leafOptions.days ?? 30),
          "-extfile",
          "leaf.ext",
          "-out",
          `${name}.leaf.crt`,
        ],
        dir,
      );
      const chainPem = pem(`${name}.leaf.crt`) + pem("intermediate.crt") + pem("root.crt");
      writeFileSync(join(dir, `${name}.crt`), chainPem);
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), chainPem, keyPem: pem(`${name}.key`) };
    },
  };
}
