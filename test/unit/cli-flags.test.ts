import { describe, expect, test } from "bun:test";
import { envName, helpFor, parseArgs, UsageError } from "../../src/cli/flags.ts";
import { serveOptionsSchema, validateFlags } from "../../src/cli/options.ts";

describe("parseArgs", () => {
  test("defaults, env fallbacks and flags, in that order of precedence", () => {
    const { flags } = parseArgs("serve", ["--listen=127.0.0.1:9000"], { BOOT_OPERATOR_LISTEN: ":1", BOOT_OPERATOR_PUBLIC_URL: "http://x" });
    expect(flags.listen).toBe("127.0.0.1:9000");
    expect(flags["public-url"]).toBe("http://x");
    expect(flags["log-level"]).toBe("info");
  });
  test("Go operator aliases map onto our flags", () => {
    const { flags } = parseArgs(
      "serve",
      ["--ipxe-service-url", "http://a:1", "--boot-server-address", ":8083", "--default-httpboot-uki-url", "http://u/x.efi"],
      {},
    );
    expect(flags).toMatchObject({ "public-url": "http://a:1", listen: ":8083", "default-uki-url": "http://u/x.efi" });
  });
  test("booleans take no value unless given with =", () => {
    expect(parseArgs("serve", ["--leader-elect"], {}).flags["leader-elect"]).toBe("true");
    expect(parseArgs("serve", ["--leader-elect=false"], {}).flags["leader-elect"]).toBe("false");
  });
  test("unknown flags and flags of other commands are usage errors", () => {
    expect(() => parseArgs("serve", ["--nope"], {})).toThrow(UsageError);
    expect(() => parseArgs("validate", ["--listen", ":1"], {})).toThrow('unknown flag --listen for "validate"');
    expect(() => parseArgs("serve", ["--listen"], {})).toThrow("needs a value");
  });
  test("help lists every flag with its environment variable", () => {
    const help = helpFor("serve", "s", "u");
    expect(help).toContain("--public-url, --ipxe-service-url URL");
    expect(help).toContain(`[${envName("trusted-proxies")}]`);
  });
});

describe("serve options (valibot)", () => {
  const parse = (argv: string[]) => validateFlags(serveOptionsSchema, parseArgs("serve", argv, {}).flags);
  test("typed values", () => {
    const options = parse([
      "--source",
      "dir:/etc/r",
      "--listen",
      "[::1]:8082",
      "--trusted-proxies",
      "10.0.0.0/8, fd00::/8",
      "--public-url",
      "http://10.0.0.5:8082/",
    ]);
    expect(options.source).toEqual({ type: "dir", directory: "/etc/r" });
    expect(options.listen).toEqual({ hostname: "::1", port: 8082 });
    expect(options["trusted-proxies"].map((c) => c.text)).toEqual(["10.0.0.0/8", "fd00::/8"]);
    expect(options["public-url"]).toBe("http://10.0.0.5:8082");
    expect(parse([]).source).toEqual({ type: "embedded" });
    expect(parse([]).listen).toEqual({ hostname: "0.0.0.0", port: 8082 });
  });
  test("--claim-scope: cluster by default (compatible), namespace on request, from the flag or the environment", () => {
    expect(parse([])["claim-scope"]).toBe("cluster");
    expect(parse(["--claim-scope", "namespace"])["claim-scope"]).toBe("namespace");
    const fromEnv = validateFlags(serveOptionsSchema, parseArgs("serve", [], { BOOT_OPERATOR_CLAIM_SCOPE: "namespace" }).flags);
    expect(fromEnv["claim-scope"]).toBe("namespace");
    expect(() => parse(["--claim-scope", "tenant"])).toThrow('--claim-scope "tenant": must be one of cluster, namespace');
    expect(helpFor("serve", "s", "u")).toContain("--claim-scope SCOPE");
  });
  test("every bad value is reported at once, naming the flag", () => {
    let message = "";
    try {
      parse([
        "--source",
        "ftp:x",
        "--listen",
        "nope",
        "--trusted-proxies",
        "10.0.0.0/33",
        "--log-level",
        "loud",
        "--idle-timeout",
        "0",
        "--public-url",
        "http://x/?q",
      ]);
    } catch (error) {
      message = (error as Error).message;
    }
    for (const fragment of [
      '--source "ftp:x"',
      '--listen "nope"',
      '--trusted-proxies "10.0.0.0/33"',
      '--log-level "loud"',
      '--idle-timeout "0"',
      '--public-url "http://x/?q"',
    ]) {
      expect(message).toContain(fragment);
    }
  });
});
