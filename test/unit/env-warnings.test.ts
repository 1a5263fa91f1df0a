// Start-up messages in plain words: a mistyped BOOT_OPERATOR_* variable is named with the flag it probably meant,
// and Node's file-system errors lose their codes.
import { describe, expect, test } from "bun:test";
import { editDistance, unknownEnvironmentWarnings } from "../../src/cli/flags.ts";
import { plainErrorMessage } from "../../src/cli/plain-errors.ts";

describe("unknown BOOT_OPERATOR_* variables", () => {
  test("a typo names the closest flag and its variable", () => {
    expect(unknownEnvironmentWarnings({ BOOT_OPERATOR_PUBLC_URL: "x", BOOT_OPERATOR_UKIDIR: "/srv/uki" })).toEqual([
      "BOOT_OPERATOR_PUBLC_URL is not a boot-operator setting and is ignored; did you mean BOOT_OPERATOR_PUBLIC_URL (--public-url)?",
      "BOOT_OPERATOR_UKIDIR is not a boot-operator setting and is ignored; did you mean BOOT_OPERATOR_UKI_DIR (--uki-dir)?",
    ]);
  });
  test("nothing close: no guess, a pointer to --help", () => {
    expect(unknownEnvironmentWarnings({ BOOT_OPERATOR_FROBNICATE_EVERYTHING: "1" })).toEqual([
      "BOOT_OPERATOR_FROBNICATE_EVERYTHING is not a boot-operator setting and is ignored (see --help for the flags and their variables)",
    ]);
  });
  test("a Go alias's variable is not read: say which one is", () => {
    expect(unknownEnvironmentWarnings({ BOOT_OPERATOR_IPXE_SERVICE_URL: "http://x" })).toEqual([
      "BOOT_OPERATOR_IPXE_SERVICE_URL is ignored: --ipxe-service-url is accepted on the command line only; set BOOT_OPERATOR_PUBLIC_URL (--public-url)",
    ]);
  });
  test("flags of any command, the test tooling's variables and other variables are fine", () => {
    expect(unknownEnvironmentWarnings({ BOOT_OPERATOR_LISTEN: ":1", BOOT_OPERATOR_UUID: "u", BOOT_OPERATOR_CACHE: "/c", HOME: "/root" })).toEqual([]);
  });
  test("edit distance", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("uki-dir", "uki-dir")).toBe(0);
  });
});

describe("plainErrorMessage", () => {
  test("a system error: action, path and words instead of the code", () => {
    const error = Object.assign(new Error("ENOENT: no such file or directory, open '/x/y'"), { code: "ENOENT", syscall: "open", path: "/x/y" });
    expect(plainErrorMessage(error)).toBe("cannot open /x/y: no such file or directory");
  });
  test("a message that wraps one keeps its prefix", () => {
    const error = Object.assign(new Error("--kubeconfig: EACCES: permission denied, open '/k'"), { code: "EACCES" });
    expect(plainErrorMessage(error)).toBe("--kubeconfig: /k: permission denied");
  });
  test("other errors are unchanged", () => {
    expect(plainErrorMessage(new Error("resource directory /x does not exist"))).toBe("resource directory /x does not exist");
  });
});
