import { describe, expect, test } from "bun:test";
import { type FileVersionFacts, judgeVersion } from "../../src/sources/files/completeness.ts";
import { decodeResourceFile } from "../../src/sources/files/documents.ts";
import { idsDefinedBy } from "../../src/sources/files/resource-set.ts";

const A = `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: a}
spec: {systemUUID: 4c4c4544-0042-3510-8052-b4c04f4a4e31, kernelURL: http://k/k, initrdURL: http://k/i}
`;
const B = A.replace("name: a", "name: b").replace("4c4c4544", "5c4c4544");
const SERVED = new Set(["IPXEBootConfig/default/a", "IPXEBootConfig/default/b"]);

function facts(text: string, overrides: Partial<FileVersionFacts> = {}): FileVersionFacts {
  const decoded = decodeResourceFile("f.yaml", text);
  return {
    decoded,
    ids: idsDefinedBy(decoded),
    blank: text.trim() === "",
    endsWithNewline: text.endsWith("\n"),
    servedIds: SERVED,
    ageMs: 0,
    settleMs: 2_000,
    ...overrides,
  };
}

describe("judgeVersion", () => {
  test("the ids of a complete file are what it serves", () => {
    expect(idsDefinedBy(decodeResourceFile("f.yaml", `${A}---\n${B}`))).toEqual(SERVED);
  });
  test("a complete new version is taken at once", () => {
    expect(judgeVersion(facts(`${A}---\n${B}`))).toEqual({ complete: true });
  });
  test("an emptied file is held until content arrives, however long it stays empty", () => {
    expect(judgeVersion(facts(""))).toMatchObject({ complete: false, recheckInMs: undefined });
    expect(judgeVersion(facts("\n  \n", { ageMs: 3_600_000 }))).toMatchObject({ complete: false, reason: "is empty (being written?)" });
  });
  test("a young version cut mid-line is held, and re-checked when it would settle", () => {
    const cut = `${A}---\n${B}`.slice(0, -10);
    expect(judgeVersion(facts(cut, { ageMs: 500 }))).toEqual({
      complete: false,
      reason: "does not end with a newline yet (being written?)",
      recheckInMs: 1_500,
    });
  });
  test("a young version that lacks a served resource, or does not parse, or has invalid documents is held", () => {
    expect(judgeVersion(facts(A))).toMatchObject({ complete: false, reason: "lacks 1 resource(s) it defined before (being written?)" });
    expect(judgeVersion(facts(`${A}---\n${B}x: [\n`))).toMatchObject({ complete: false, reason: "does not parse yet (being written?)" });
    expect(judgeVersion(facts(`${A}---\n${B.replace("initrdURL: http://k/i", "initrdURL: nope")}`))).toMatchObject({
      complete: false,
      reason: "has invalid documents (being written?)",
    });
  });
  test("once settled, any version is taken as it is (its problems are reported then)", () => {
    expect(judgeVersion(facts(A, { ageMs: 2_000 }))).toEqual({ complete: true });
    expect(judgeVersion(facts("x: [\n", { ageMs: 5_000 }))).toEqual({ complete: true });
  });
  test("a file that serves nothing is never held for its problems, only for a missing newline", () => {
    expect(judgeVersion(facts("x: [\n", { servedIds: new Set() }))).toEqual({ complete: true });
    expect(judgeVersion(facts("x: 1", { servedIds: new Set() }))).toMatchObject({ complete: false });
    expect(judgeVersion(facts("", { servedIds: new Set() }))).toEqual({ complete: true });
  });
});
