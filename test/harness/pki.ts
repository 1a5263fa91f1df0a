// A throw-away PKI made with openssl (scripts/ensure/openssl.sh) for the TLS tests: a root, an intermediate it
// signed, leaves for 127.0.0.1/localhost signed by the intermediate (each a new serial, for rotation tests), and an
// unrelated second root. Real certificates from the real tool, never checked-in fixtures that expire.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function openssl(args: string[], cwd: string): void {
  const result = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${result.stderr.toString()}`);
}

export interface TestPki {
  dir: string;
  rootCert: string;
  intermediateCert: string;
  otherRootCert: string;
  /** A new leaf (key, and chain leaf + intermediate + root) under `name`; files in `dir`. */
  leaf(name: string, options?: { days?: number }): { cert: string; key: string; chainPem: string; keyPem: string };
  pem(path: string): string;
}

function selfSignedCa(dir: string, name: string, subject: string): void {
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
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

export function makeTestPki(dir = mkdtempSync(join(tmpdir(), "boot-operator-pki-"))): TestPki {
  selfSignedCa(dir, "root", "/CN=boot-operator test root");
  selfSignedCa(dir, "other-root", "/CN=boot-operator unrelated root");
  writeFileSync(join(dir, "ca.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n");
  writeFileSync(join(dir, "leaf.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  openssl(
    [
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "intermediate.key",
      "-out",
      "intermediate.csr",
      "-subj",
      "/CN=boot-operator test intermediate",
    ],
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
    leaf(name, options = {}) {
      openssl(
        ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`],
        dir,
      );
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
          String(options.days ?? 30),
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
