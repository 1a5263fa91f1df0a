import { describe, expect, test } from "bun:test";
import { helpFor, parseArgs, UsageError } from "../../src/cli/flags.ts";
import { serveOptionsSchema, validateFlags } from "../../src/cli/options.ts";

const serve = (argv: string[], env: Record<string, string> = {}) => validateFlags(serveOptionsSchema, parseArgs("serve", argv, env).flags);

describe("--max-resource-bytes and --parse-timeout", () => {
  test("defaults: 4 MiB and 5 s", () => {
    const options = serve([]);
    expect(options["max-resource-bytes"]).toBe(4 * 1024 * 1024);
    expect(options["parse-timeout"]).toBe(5);
  });
  test("bytes with or without a binary suffix; fractional seconds; environment fallbacks", () => {
    expect(serve(["--max-resource-bytes", "65536"])["max-resource-bytes"]).toBe(65_536);
    expect(serve(["--max-resource-bytes=64Ki"])["max-resource-bytes"]).toBe(65_536);
    expect(serve([], { BOOT_OPERATOR_MAX_RESOURCE_BYTES: "1Gi" })["max-resource-bytes"]).toBe(1024 ** 3);
    expect(serve(["--parse-timeout", "0.5"])["parse-timeout"]).toBe(0.5);
    expect(serve([], { BOOT_OPERATOR_PARSE_TIMEOUT: "30" })["parse-timeout"]).toBe(30);
  });
  test("nonsense is a usage error naming the flag", () => {
    for (const argv of [
      ["--max-resource-bytes", "4MB"],
      ["--max-resource-bytes", "100"],
      ["--max-resource-bytes", "2Gi"],
      ["--parse-timeout", "0"],
      ["--parse-timeout", "soon"],
    ]) {
      expect(() => serve(argv)).toThrow(UsageError);
      expect(() => serve(argv)).toThrow(`--${argv[0]?.slice(2)}`);
    }
  });
  test("--help shows both with their environment variables", () => {
    const help = helpFor("serve", "", "");
    expect(help).toContain("--max-resource-bytes BYTES");
    expect(help).toContain("[BOOT_OPERATOR_MAX_RESOURCE_BYTES]");
    expect(help).toContain("--parse-timeout SECONDS");
    expect(help).toContain("[BOOT_OPERATOR_PARSE_TIMEOUT]");
  });
});
