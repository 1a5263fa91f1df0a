// A ServerBootConfiguration turning Ready opens a boot window for its IPXEBootConfig, once per transition.
import { expect, test } from "bun:test";
import { SbcReadyWindows } from "../../../src/controllers/sbc-ready-windows.ts";

test("only a transition to Ready opens a window; Ready again after Pending opens another", () => {
  const states = new Map<string, string>([
    ["ns/already", "Ready"],
    ["ns/m1", "Pending"],
  ]);
  const opened: string[] = [];
  const windows = new SbcReadyWindows(
    (key) => states.get(key),
    (configId) => opened.push(configId),
  );
  windows.seed(states.keys());
  windows.changed(["ns/already", "ns/m1"]);
  expect(opened).toEqual([]);
  states.set("ns/m1", "Ready");
  windows.changed(["ns/m1"]);
  windows.changed(["ns/m1"]);
  expect(opened).toEqual(["IPXEBootConfig|ns/m1"]);
  states.set("ns/m1", "Pending");
  windows.changed(["ns/m1"]);
  states.set("ns/m1", "Ready");
  windows.changed(["ns/m1"]);
  states.delete("ns/already");
  windows.changed(["ns/already"]);
  expect(opened).toEqual(["IPXEBootConfig|ns/m1", "IPXEBootConfig|ns/m1"]);
});
