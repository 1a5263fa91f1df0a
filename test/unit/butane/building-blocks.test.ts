import { describe, expect, test } from "bun:test";
import { base64, makeDataUrl, percentEscape, unitNamePathEscape, utf8Bytes } from "../../../src/boot/butane/encoding.ts";
import { encodeGoString, ignitionSchema, mergeObjects } from "../../../src/boot/butane/ignition-model.ts";
import { mountUnitContents } from "../../../src/boot/butane/translate-base.ts";
import { isTypicalMode, looksLikeDecimalMode } from "../../../src/boot/butane/validate-butane.ts";
import { parseGoInteger } from "../../../src/boot/butane/yaml-decode.ts";

describe("data URLs", () => {
  test("percent-encoding keeps RFC 2396 unreserved characters and pads hex to two digits", () => {
    expect(percentEscape(utf8Bytes("a-b_c.d!e~f*g'h(i)j k\n/%"))).toBe("a-b_c.d!e~f*g'h(i)j%20k%0A%2F%25");
    expect(percentEscape(utf8Bytes("ü"))).toBe("%C3%BC");
  });

  test("base64 matches the platform encoder for every padding length", () => {
    for (const text of ["", "a", "ab", "abc", "abcd", "\u0000\u00ff binary"]) {
      expect(base64(utf8Bytes(text))).toBe(Buffer.from(text, "utf8").toString("base64"));
    }
  });

  test("the shorter encoding wins; a tie keeps percent-encoding", () => {
    expect(makeDataUrl(utf8Bytes("hello"))).toBe("data:,hello");
    // ",%01%02%03" (10) vs ";base64,AQID" (12): percent wins.
    expect(makeDataUrl(new Uint8Array([1, 2, 3]))).toBe("data:,%01%02%03");
    // 6 bytes: 19 vs 16, base64 wins.
    expect(makeDataUrl(new Uint8Array([1, 2, 3, 4, 5, 6]))).toBe("data:;base64,AQIDBAUG");
    // 5 bytes: 16 vs 16, a tie keeps percent-encoding (base64 must be strictly shorter).
    expect(makeDataUrl(new Uint8Array(5))).toBe("data:,%00%00%00%00%00");
  });
});

describe("systemd unit names", () => {
  test("escape like systemd-escape --path", () => {
    expect(unitNamePathEscape("/var/lib/my-data")).toBe("var-lib-my\\x2ddata");
    expect(unitNamePathEscape("/")).toBe("-");
    expect(unitNamePathEscape("//var//log/")).toBe("var-log");
    // Only a dot at the very start is escaped (go-systemd), not one after a slash.
    expect(unitNamePathEscape("/.hidden")).toBe("\\x2ehidden");
    expect(unitNamePathEscape("/srv/.hidden dir")).toBe("srv-.hidden\\x20dir");
  });

  test("mount unit text has no trailing newline and adds _netdev for network devices", () => {
    const text = mountUnitContents({ device: "/dev/vdb", format: "ext4", path: "/var/x", mountOptions: ["ro"], remote: true });
    expect(text.endsWith("RequiredBy=remote-fs.target")).toBe(true);
    expect(text).toContain("\nOptions=ro,_netdev\n");
  });
});

describe("integers as go-yaml reads them", () => {
  test.each([
    ["0644", 420],
    ["0o644", 420],
    ["0x1A4", 420],
    ["0b110100100", 420],
    ["1_000", 1000],
    ["-12", -12],
    ["420.0", 420],
    // Not an octal literal, but go-yaml falls back to the float 648, which an int field accepts.
    ["0648", 648],
    // Floats are truncated, as yaml.v3 converts a float64 for an int field (Butane: `mode: 420.7` gives 420).
    ["1.5", 1],
    [".5", 0],
  ])("%s", (text, value) => {
    expect(parseGoInteger(text)).toBe(value);
  });

  test.each(["12:30", "abc", "0x", "", "2001-01-01", ".inf"])("rejects %p", (text) => {
    expect(parseGoInteger(text)).toBeUndefined();
  });
});

describe("mode heuristics (Butane's decimal-mode warning)", () => {
  test("typical modes", () => {
    expect(isTypicalMode(0o644, false)).toBe(true);
    expect(isTypicalMode(0o4755, false)).toBe(true);
    expect(isTypicalMode(0o1777, true)).toBe(true);
    expect(isTypicalMode(0o1644, false)).toBe(false);
  });

  test("decimal-looking modes are flagged, octal ones are not", () => {
    expect(looksLikeDecimalMode(644, false)).toBe(true);
    expect(looksLikeDecimalMode(755, true)).toBe(true);
    expect(looksLikeDecimalMode(0o644, false)).toBe(false);
    expect(looksLikeDecimalMode(600, false)).toBe(true);
    expect(looksLikeDecimalMode(0, false)).toBe(false);
  });
});

describe("Go JSON string encoding", () => {
  test("escapes HTML characters, control characters and line separators", () => {
    expect(encodeGoString('<a href="x">&</a>\u2028\u0001\t')).toBe('"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e\\u2028\\u0001\\t"');
  });
});

describe("Ignition config merge", () => {
  test("parent entries keep their place, child fields win, new child entries are appended", () => {
    const schema = ignitionSchema(4);
    const parent = {
      systemd: {
        units: [
          { name: "a.mount", enabled: true, contents: "generated" },
          { name: "b.mount", enabled: true },
        ],
      },
    };
    const child = { systemd: { units: [{ name: "c.service" }, { name: "a.mount", enabled: false }] } };
    expect(mergeObjects(parent, child, "Config", schema)).toEqual({
      systemd: {
        units: [{ name: "a.mount", enabled: false, contents: "generated" }, { name: "b.mount", enabled: true }, { name: "c.service" }],
      },
    });
  });

  test("files, directories and links share one key space; append lists are concatenated", () => {
    const schema = ignitionSchema(4);
    const parent = { storage: { files: [{ path: "/etc/x", append: [{ source: "data:,1" }] }, { path: "/etc/y" }] } };
    const child = { storage: { files: [{ path: "/etc/x", append: [{ source: "data:,2" }] }], links: [{ path: "/etc/y", target: "/z" }] } };
    expect(mergeObjects(parent, child, "Config", schema)).toEqual({
      storage: {
        files: [{ path: "/etc/x", append: [{ source: "data:,1" }, { source: "data:,2" }] }],
        links: [{ path: "/etc/y", target: "/z" }],
      },
    });
  });
});
