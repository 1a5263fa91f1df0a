// --translate-timeout: the time budget of one Butane translation on the worker (issue #16 §2).
import { describe, expect, test } from "bun:test";
import { helpFor, parseArgs, UsageError } from "../../src/cli/flags.ts";
import { serveOptionsSchema, validateFlags } from "../../src/cli/options.ts";

const serve = (argv: string[], env: Record<string, string> = {}) => validateFlags(serveOptionsSchema, parseArgs("serve", argv, env).flags);

describe("--translate-timeout", () => {
  test("default 10 s; fractional seconds; environment fallback", () => {
    expect(serve([])["translate-timeout"]).toBe(30);
    expect(serve(["--translate-timeout", "0.5"])["translate-timeout"]).toBe(0.5);
    expect(serve([], { BOOT_OPERATOR_TRANSLATE_TIMEOUT: "45" })["translate-timeout"]).toBe(45);
  });
  test("nonsense is a usage error naming the flag", () => {
    for (const value of ["0", "soon", "-1", "4000"]) expect(() => serve(["--translate-timeout", value])).toThrow(UsageError);
    expect(() => serve(["--translate-timeout", "soon"])).toThrow("--translate-timeout");
  });
  test("--help shows it with its environment variable", () => {
    const help = helpFor("serve", "", "");
    expect(help).toContain("--translate-timeout SECONDS");
    expect(help).toContain("[BOOT_OPERATOR_TRANSLATE_TIMEOUT]");
  });
});
