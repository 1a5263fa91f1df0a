// --boot-stall-timeout: when a boot with no new milestone counts as stalled (issue #15 §3); a duration, default 10m.
import { describe, expect, test } from "bun:test";
import { helpFor, parseArgs, UsageError } from "../../src/cli/flags.ts";
import { serveOptionsSchema, validateFlags } from "../../src/cli/options.ts";

const serve = (argv: string[], env: Record<string, string> = {}) => validateFlags(serveOptionsSchema, parseArgs("serve", argv, env).flags);

describe("--boot-stall-timeout", () => {
  test("default 10 minutes; units; plain seconds; environment fallback", () => {
    expect(serve([])["boot-stall-timeout"]).toBe(600_000);
    expect(serve(["--boot-stall-timeout", "90s"])["boot-stall-timeout"]).toBe(90_000);
    expect(serve(["--boot-stall-timeout", "1h"])["boot-stall-timeout"]).toBe(3_600_000);
    expect(serve(["--boot-stall-timeout", "1500ms"])["boot-stall-timeout"]).toBe(1500);
    expect(serve(["--boot-stall-timeout", "45"])["boot-stall-timeout"]).toBe(45_000);
    expect(serve([], { BOOT_OPERATOR_BOOT_STALL_TIMEOUT: "2m" })["boot-stall-timeout"]).toBe(120_000);
  });
  test("nonsense is a usage error naming the flag", () => {
    for (const value of ["soon", "-1m", "10 m", "0", "30d"]) expect(() => serve(["--boot-stall-timeout", value])).toThrow(UsageError);
    expect(() => serve(["--boot-stall-timeout", "soon"])).toThrow("--boot-stall-timeout");
  });
  test("--help says where stalled boots show", () => {
    const help = helpFor("serve", "", "");
    expect(help).toContain("--boot-stall-timeout DURATION");
    expect(help).toContain("/debug/machines");
  });
});
