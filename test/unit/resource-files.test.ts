import { describe, expect, test } from "bun:test";
import { formatProblem } from "../../src/index/snapshot.ts";
import { type DecodedFile, decodeResourceFile, MAX_PROBLEMS_PER_DOCUMENT } from "../../src/sources/files/documents.ts";
import { ResourceSet } from "../../src/sources/files/resource-set.ts";

const GOOD = `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: m1}
spec:
  systemUUID: 4c4c4544-0042-3510-8052-b4c04f4a4e31
  kernelURL: http://f/k
  initrdURL: http://f/i
---
apiVersion: v1
kind: Secret
metadata: {name: s1}
stringData: {ignition: "{}"}
`;

describe("decodeResourceFile", () => {
  test("multi-document YAML, empty documents skipped", () => {
    const decoded = decodeResourceFile("a.yaml", `---\n${GOOD}---\n`);
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(decoded.documents.map((d) => d.ok && d.resource.kind)).toEqual(["IPXEBootConfig", "Secret"]);
  });
  test("syntax errors name the line", () => {
    const decoded = decodeResourceFile("a.yaml", "kind: Secret\nmetadata:\n  name: [unclosed\n");
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(formatProblem(decoded.problem)).toMatch(/^a\.yaml#0: YAML syntax error at line \d+, column \d+/);
  });
  test("duplicate keys are syntax errors", () => {
    expect(decodeResourceFile("a.yaml", "kind: Secret\nkind: Secret\n").ok).toBe(false);
  });
  test("schema problems name document, kind, name and field", () => {
    const decoded = decodeResourceFile("a.yaml", GOOD.replace("kernelURL: http://f/k", "kernelURL: s3://f/k").replace("initrdURL", "initrdUrl"));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const lines = decoded.documents.flatMap((d) => (d.ok ? [] : d.problems.map(formatProblem)));
    expect(lines).toContain(
      "a.yaml:6 IPXEBootConfig m1: spec.kernelURL: must be a URL iPXE can fetch (http, https, tftp, tftm, mtftp, ftp, slam, nfs, file:), or a path starting with / served by this appliance",
    );
    expect(lines).toContain("a.yaml:7 IPXEBootConfig m1: spec.initrdUrl: unknown field");
    // A missing field is located at the mapping that lacks it.
    expect(lines).toContain(
      "a.yaml:4 IPXEBootConfig m1: spec.initrdURL: is required unless ipxeScriptSecretRef names a custom iPXE script (the default script boots it)",
    );
  });
  test("other kinds are ignored with a warning, not an error", () => {
    const decoded = decodeResourceFile("a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
    expect(decoded.ok && decoded.documents[0]?.ok === false && decoded.documents[0].ignored).toBe(true);
  });
  test("a List contributes each item; problems name the item", () => {
    const items = GOOD.split("---\n").map((document) => `- ${document.trimEnd().replaceAll("\n", "\n  ")}`);
    const broken = items[0]?.replace("kernelURL: http://f/k", "kernelURL: nope") ?? "";
    const decoded = decodeResourceFile("a.yaml", `apiVersion: v1\nkind: List\nitems:\n${[...items, broken.replace("name: m1", "name: m2")].join("\n")}\n`);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.documents.map((d) => (d.ok ? d.resource.kind : "invalid"))).toEqual(["IPXEBootConfig", "Secret", "invalid"]);
    const problems = decoded.documents.flatMap((d) => (d.ok ? [] : d.problems.map(formatProblem)));
    expect(problems).toContain(
      "a.yaml:20 IPXEBootConfig m2: items.2.spec.kernelURL: must be a URL iPXE can fetch (http, https, tftp, tftm, mtftp, ftp, slam, nfs, file:), or a path starting with / served by this appliance",
    );
    expect(problems.every((line) => line.includes("items.2.spec.kernelURL"))).toBe(true);
  });
  test("limit failures are refusals with a position, not syntax errors", () => {
    const decoded = decodeResourceFile("a.yaml", `ok: 1\ndeep: ${"[".repeat(200)}${"]".repeat(200)}\n`);
    expect(!decoded.ok && formatProblem(decoded.problem)).toBe("a.yaml#0: refused at line 2, column 108: nested deeper than 100 levels");
  });
  test("a document with thousands of problems reports a bounded number of them", () => {
    // A Secret's stringData values must be strings: one problem per entry.
    const numbers = Array.from({ length: 5_000 }, (_, i) => `  k${i}: ${i}`).join("\n");
    const decoded = decodeResourceFile("a.yaml", `apiVersion: v1\nkind: Secret\nmetadata: {name: s1}\nstringData:\n${numbers}\n`);
    const problems = decoded.ok ? decoded.documents.flatMap((d) => (d.ok ? [] : d.problems)) : [];
    expect(problems).toHaveLength(MAX_PROBLEMS_PER_DOCUMENT + 1);
    expect(problems.at(-1)?.message).toMatch(/^and \d{4} more problem\(s\) not listed$/);
  });
  test("deprecated IPXEBootConfig fields are accepted", () => {
    const decoded = decodeResourceFile(
      "a.yaml",
      GOOD.replace("  initrdURL: http://f/i", "  initrdURL: http://f/i\n  image: ghcr.io/x:y\n  ipxeServerURL: http://old"),
    );
    expect(decoded.ok && decoded.documents.every((d) => d.ok)).toBe(true);
  });
});

describe("ResourceSet keeps the last good state", () => {
  const files = (entries: Record<string, string>): Map<string, DecodedFile> =>
    new Map(Object.entries(entries).map(([path, text]) => [path, decodeResourceFile(path, text)]));

  test("a file that stops parsing keeps serving its previous resources", () => {
    const set = new ResourceSet();
    expect(set.rebuild(files({ "a.yaml": GOOD })).snapshot.ipxeBootConfigs).toHaveLength(1);
    const broken = set.rebuild(files({ "a.yaml": `${GOOD}\n  : : bad: [\n` }));
    expect(broken.snapshot.ipxeBootConfigs).toHaveLength(1);
    expect(broken.snapshot.secrets).toHaveLength(1);
    expect(broken.problems.map((p) => p.severity)).toEqual(["error", "warning"]);
    // Still kept on the next reload while the file stays broken.
    expect(set.rebuild(files({ "a.yaml": "{" })).snapshot.ipxeBootConfigs).toHaveLength(1);
  });

  test("an invalid edit of one resource keeps its last valid version; the rest update", () => {
    const set = new ResourceSet();
    set.rebuild(files({ "a.yaml": GOOD }));
    const edited = GOOD.replace("kernelURL: http://f/k", "kernelURL: not a url").replace('{ignition: "{}"}', '{ignition: "{\\"new\\": 1}"}');
    const update = set.rebuild(files({ "a.yaml": edited }));
    expect(update.snapshot.ipxeBootConfigs[0]?.spec.kernelURL).toBe("http://f/k");
    expect(update.snapshot.secrets[0]?.stringData?.ignition).toBe('{"new": 1}');
    expect(update.problems.some((p) => p.severity === "warning" && p.message.includes("last valid version"))).toBe(true);
  });

  test("a resource never valid is reported and absent; a deleted file removes its resources", () => {
    const set = new ResourceSet();
    const update = set.rebuild(files({ "a.yaml": GOOD.replace("kernelURL: http://f/k", "kernelURL: nope") }));
    expect(update.snapshot.ipxeBootConfigs).toHaveLength(0);
    expect(update.problems[0]?.severity).toBe("error");
    set.rebuild(files({ "a.yaml": GOOD }));
    expect(set.rebuild(files({})).snapshot.ipxeBootConfigs).toHaveLength(0);
  });

  test("a file whose new version is held keeps serving its last complete version, with a warning", () => {
    const set = new ResourceSet();
    set.rebuild(files({ "a.yaml": GOOD }));
    expect(set.servedIds("a.yaml")).toEqual(new Set(["IPXEBootConfig/default/m1", "Secret/default/s1"]));
    const update = set.rebuild(files({ "a.yaml": "" }), new Map([["a.yaml", "is empty (being written?)"]]));
    expect(update.snapshot.ipxeBootConfigs).toHaveLength(1);
    expect(update.problems.map(formatProblem)).toEqual([
      "a.yaml: changed but is empty (being written?); still serving its 2 resource(s) from the last complete version",
    ]);
    expect(set.rebuild(files({ "a.yaml": "" })).snapshot.ipxeBootConfigs).toHaveLength(0);
  });

  test("the same resource in two files: the first path wins, the second is an error", () => {
    const update = new ResourceSet().rebuild(files({ "b.yaml": GOOD, "a.yaml": GOOD.replace("http://f/k", "http://f/other") }));
    expect(update.snapshot.ipxeBootConfigs).toHaveLength(1);
    expect(update.snapshot.ipxeBootConfigs[0]?.spec.kernelURL).toBe("http://f/other");
    expect(update.problems.filter((p) => p.origin === "b.yaml" && p.message.includes("defined again; the definition in a.yaml is used"))).toHaveLength(2);
  });

  test("age is first seen by this process, then path and document order; never the file's creationTimestamp", () => {
    const config = (name: string, stamp: string) =>
      `apiVersion: boot.ironcore.dev/v1alpha1\nkind: IPXEBootConfig\nmetadata: {name: ${name}, creationTimestamp: "${stamp}"}\nspec: {kernelURL: http://f/k, initrdURL: http://f/i}\n`;
    const set = new ResourceSet();
    const victim = config("victim", "2025-01-01T00:00:00Z");
    const first = set.rebuild(files({ "z.yaml": victim })).snapshot.firstSeen;
    expect([...(first ?? [])]).toEqual([["IPXEBootConfig/default/victim", 0]]);
    // Added later in an earlier path, with an earlier name and a forged 1970 timestamp: still younger.
    const later = set.rebuild(files({ "z.yaml": victim, "a.yaml": config("aaa", "1970-01-01T00:00:00Z") })).snapshot.firstSeen;
    expect(later?.get("IPXEBootConfig/default/victim")).toBe(0);
    expect(later?.get("IPXEBootConfig/default/aaa")).toBe(1);
    // One load (a restart): path order, then document order.
    const fresh = new ResourceSet().rebuild(
      files({ "z.yaml": victim, "a.yaml": `${config("a2", "2025-01-01T00:00:00Z")}---\n${config("a1", "2025-01-01T00:00:00Z")}` }),
    );
    expect([...(fresh.snapshot.firstSeen ?? [])]).toEqual([
      ["IPXEBootConfig/default/a2", 0],
      ["IPXEBootConfig/default/a1", 1],
      ["IPXEBootConfig/default/victim", 2],
    ]);
    // A config that disappears forgets its age: re-added, it is the newest.
    set.rebuild(files({ "a.yaml": config("aaa", "1970-01-01T00:00:00Z") }));
    const readded = set.rebuild(files({ "z.yaml": victim, "a.yaml": config("aaa", "1970-01-01T00:00:00Z") })).snapshot.firstSeen;
    expect((readded?.get("IPXEBootConfig/default/victim") ?? 0) > (readded?.get("IPXEBootConfig/default/aaa") ?? 0)).toBe(true);
  });
});
