import { describe, expect, test } from "bun:test";
import { SuccessLog } from "../../src/observability/success-log.ts";

describe("SuccessLog", () => {
  test("the first success of a config+client pair is new; repeats are only counted", () => {
    const log = new SuccessLog(0);
    expect(log.record("/ipxe/:uuid", "default/a", "10.0.0.1")).toBe(true);
    expect(log.record("/ipxe/:uuid", "default/a", "10.0.0.1")).toBe(false);
    expect(log.record("/ipxe/:uuid", "default/a", "10.0.0.2")).toBe(true);
    expect(log.record("/ignition/:uuid", "default/a", "10.0.0.1")).toBe(true);
  });

  test("one summary per route with counts by config, busiest first; drained counts start again", () => {
    const log = new SuccessLog(0, 100, 1);
    for (let i = 0; i < 3; i++) log.record("/ipxe/:uuid", "default/a", "c");
    log.record("/ipxe/:uuid", "default/b", "c");
    expect(log.drain(10_000)).toEqual([{ route: "/ipxe/:uuid", intervalSeconds: 10, total: 4, byConfig: { "default/a": 3 }, otherConfigs: 1 }]);
    expect(log.drain(20_000)).toEqual([]);
  });

  test("memory is bounded: past maxPairs the oldest pair is forgotten", () => {
    const log = new SuccessLog(0, 2);
    log.record("r", "a", "1");
    log.record("r", "a", "2");
    log.record("r", "a", "3");
    expect(log.record("r", "a", "1")).toBe(true);
    expect(log.record("r", "a", "3")).toBe(false);
  });

  test("a forgotten pair is new again even when it was the config's last client", () => {
    const log = new SuccessLog(0, 1);
    expect(log.record("r", "a", "1")).toBe(true);
    expect(log.record("r", "a", "1")).toBe(false);
    expect(log.record("r", "b", "2")).toBe(true); // forgets a+1
    expect(log.record("r", "a", "1")).toBe(true);
  });

  test("a config served to several clients remembers each of them, and forgets them oldest first", () => {
    const log = new SuccessLog(0, 3);
    expect(["1", "2", "1", "3"].map((client) => log.record("r", "a", client))).toEqual([true, true, false, true]);
    expect(log.record("r", "a", "4")).toBe(true); // four pairs: a+1 is forgotten
    expect(log.record("r", "a", "2")).toBe(false);
    expect(log.record("r", "a", "1")).toBe(true); // new again; a+2 is forgotten
    expect(log.record("r", "a", "3")).toBe(false);
    expect(log.record("r", "a", "2")).toBe(true);
  });

  test("across many forgotten pairs (the order is compacted on the way) exactly the newest maxPairs are remembered", () => {
    const log = new SuccessLog(0, 10);
    for (let i = 0; i < 3_000; i++) {
      expect(log.record(i % 2 === 0 ? "r" : "s", `c${i % 7}`, `client-${i}`)).toBe(true);
      if (i % 500 === 0) log.drain(i); // a drained config keeps its clients
    }
    for (let i = 2_990; i < 3_000; i++) expect(log.record(i % 2 === 0 ? "r" : "s", `c${i % 7}`, `client-${i}`)).toBe(false);
    expect(log.record("s", `c${2_989 % 7}`, "client-2989")).toBe(true);
  });
});
