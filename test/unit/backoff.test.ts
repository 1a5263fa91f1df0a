// The one backoff function the reflector and the work queue share.
import { expect, test } from "bun:test";
import { backoffDelay } from "../../src/kube/backoff.ts";

const reflector = { base: 500, cap: 30_000, jitter: 1 };

test("full jitter stays within [base, base·2^n] and caps (the reflector's re-LIST backoff)", () => {
  expect(backoffDelay(0, reflector, () => 0)).toBe(500);
  expect(backoffDelay(0, reflector, () => 1)).toBe(500);
  expect(backoffDelay(3, reflector, () => 1)).toBe(4_000);
  expect(backoffDelay(3, reflector, () => 0.5)).toBe(2_250);
  expect(backoffDelay(3, reflector, () => 0)).toBe(500);
  expect(backoffDelay(50, reflector, () => 1)).toBe(30_000);
});

test("no jitter: exactly base·2^n up to the cap, whatever the random source says", () => {
  const options = { base: 5, cap: 1_000_000, jitter: 0 };
  expect([0, 1, 2, 10].map((attempt) => backoffDelay(attempt, options, () => 0))).toEqual([5, 10, 20, 5_120]);
  expect(backoffDelay(40, options, () => 0)).toBe(1_000_000);
});

test("partial jitter shortens by at most that share of the span above the base", () => {
  const options = { base: 1_000, cap: 60_000, jitter: 0.25 };
  expect(backoffDelay(2, options, () => 1)).toBe(4_000);
  expect(backoffDelay(2, options, () => 0)).toBe(3_250);
  for (let i = 0; i < 100; i++) {
    const delay = backoffDelay(4, options);
    expect(delay).toBeGreaterThanOrEqual(12_250);
    expect(delay).toBeLessThanOrEqual(16_000);
  }
});

test("odd inputs stay finite and within bounds", () => {
  expect(backoffDelay(-3, { base: 100, cap: 1_000, jitter: 0 })).toBe(100);
  expect(backoffDelay(10_000, { base: 100, cap: 1_000, jitter: 0 })).toBe(1_000);
  expect(backoffDelay(2, { base: 100, cap: 1_000, jitter: 7 }, () => 0)).toBe(100);
  expect(backoffDelay(2, { base: 100, cap: 50, jitter: 0 })).toBe(100);
});
