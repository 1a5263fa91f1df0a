import { describe, expect, test } from "bun:test";
import { PerKeyThrottle } from "../../src/observability/log-throttle.ts";

describe("PerKeyThrottle", () => {
  test("one line per key per interval; the next line reports how many were swallowed", () => {
    const throttle = new PerKeyThrottle(60_000);
    expect(throttle.allow("127.0.0.7", 0)).toEqual({ allowed: true, suppressed: 0 });
    expect(throttle.allow("127.0.0.7", 1_000).allowed).toBe(false);
    expect(throttle.allow("127.0.0.7", 59_999)).toEqual({ allowed: false, suppressed: 2 });
    expect(throttle.allow("127.0.0.7", 60_000)).toEqual({ allowed: true, suppressed: 2 });
    expect(throttle.allow("127.0.0.7", 60_001)).toEqual({ allowed: false, suppressed: 1 });
  });

  test("keys are independent", () => {
    const throttle = new PerKeyThrottle(60_000);
    expect(throttle.allow("127.0.0.7", 0).allowed).toBe(true);
    expect(throttle.allow("127.0.0.8", 10).allowed).toBe(true);
    expect(throttle.allow("127.0.0.7", 20).allowed).toBe(false);
    expect(throttle.allow("127.0.0.8", 30).allowed).toBe(false);
  });

  test("memory is bounded: beyond maxKeys the stalest key is forgotten (and may log again)", () => {
    const throttle = new PerKeyThrottle(60_000, 2);
    throttle.allow("a", 0);
    throttle.allow("b", 1);
    throttle.allow("c", 2);
    expect(throttle.size).toBe(2);
    expect(throttle.allow("b", 3).allowed).toBe(false);
    expect(throttle.allow("a", 4).allowed).toBe(true);
  });
});
