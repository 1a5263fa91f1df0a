// The TLS flags: --ca-file repeats, --listen 0 turns plain HTTP off, and the combinations that make no sense are one
// usage line naming the flags.
import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "../../src/cli/flags.ts";
import { resolveServeOptions } from "../../src/cli/options.ts";

const resolve = (argv: string[]) => resolveServeOptions(parseArgs("serve", argv, {}), {});

describe("TLS flags", () => {
  test("--ca-file is repeatable and takes comma lists; the environment variable is a comma list", () => {
    expect(resolve(["--ca-file", "/a.pem", "--ca-file=/b.pem,/c.pem"])["ca-file"]).toEqual(["/a.pem", "/b.pem", "/c.pem"]);
    expect(resolveServeOptions(parseArgs("serve", [], { BOOT_OPERATOR_CA_FILE: "/x.pem, /y.pem" }), {})["ca-file"]).toEqual(["/x.pem", "/y.pem"]);
    expect(resolve([])["ca-file"]).toEqual([]);
  });

  test("--tls-listen with files; --listen 0 for HTTPS only", () => {
    const options = resolve(["--listen", "0", "--tls-listen", ":8443", "--tls-cert-file", "/c", "--tls-key-file", "/k"]);
    expect(options.listen).toBeUndefined();
    expect(options["tls-listen"]).toEqual({ hostname: "0.0.0.0", port: 8443 });
    expect(resolve(["--tls-listen", "0"])["tls-listen"]).toBeUndefined();
  });

  test.each([
    [["--listen", "0"], "--listen 0 turns the plain-HTTP listener off: give --tls-listen then"],
    [["--tls-listen", ":8443"], "--tls-listen needs --tls-cert-file and --tls-key-file (or --tls-secret)"],
    [["--tls-listen", ":8443", "--tls-cert-file", "/c"], "--tls-listen needs --tls-cert-file and --tls-key-file (or --tls-secret)"],
    [["--tls-cert-file", "/c", "--tls-key-file", "/k"], "--tls-cert-file/--tls-key-file/--tls-secret need --tls-listen"],
    [["--tls-listen", ":8443", "--tls-secret", "ns/tls"], "--tls-secret needs --source kube (use --tls-cert-file and --tls-key-file otherwise)"],
    [
      ["--source", "kube", "--tls-listen", ":8443", "--tls-secret", "ns/tls", "--tls-cert-file", "/c", "--tls-key-file", "/k"],
      "give --tls-cert-file/--tls-key-file or --tls-secret, not both",
    ],
  ])("%j is refused", (argv, message) => {
    expect(() => resolve(argv)).toThrow(new UsageError(message));
  });

  test("--tls-secret with --source kube is accepted", () => {
    expect(resolve(["--source", "kube", "--tls-listen", ":8443", "--tls-secret", "ns/tls"])["tls-secret"]).toBe("ns/tls");
  });
});
