// A flood of successful boot requests must not flood the log (issue #16: 214 bytes per request at info, 81 MB in
// 12 s): at info, the first time a config goes to a client and one summary per route per interval; the rest is debug.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { eventually } from "../harness/wait.ts";

let app: Appliance;

beforeAll(async () => {
  app = await startAppliance([]);
  await app.waitReady();
});
afterAll(() => app?.stop());

const IGNITION = "/ignition/52a1f4c0-93b1-4d6e-a3b0-6f4e1c2d9b07";
const IPXE = "/ipxe/9b8f2f7e-1f0a-4a57-9d55-0c1f6a3e2b11";
const FLOOD = 2_000;

test("a flood of successful requests writes a bounded number of info lines, and a summary counts them", async () => {
  const before = app.logs.length;
  for (let sent = 0; sent < FLOOD; sent += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, offset) => {
        const response = await fetch(`${app.url}${(sent + offset) % 2 === 0 ? IGNITION : IPXE}`);
        expect(response.status).toBe(200);
        await response.arrayBuffer();
      }),
    );
  }
  // Summaries come every 10 s; the flood may straddle two of them, so wait until they have counted all of it.
  const counted = (): number =>
    app.logs
      .slice(before)
      .filter((line) => line.msg === "served (summary)")
      .reduce((sum, line) => sum + Number(line.total), 0);
  await eventually(async () => counted() >= FLOOD, `summaries counting ${FLOOD} requests`, 25_000).catch(() => undefined);
  const infoLines = app.logs.slice(before).filter((line) => line.level === "info");
  console.log("log volume", { requests: FLOOD, infoLines: infoLines.length, counted: counted() });
  expect(infoLines.length).toBeLessThanOrEqual(10);
  expect(counted()).toBe(FLOOD);
  // Two first-occurrence lines (one per config+client), the rest summaries.
  expect(
    infoLines
      .filter((line) => line.firstForClient === true)
      .map((line) => line.msg)
      .sort(),
  ).toEqual(["served iPXE script", "served ignition"]);
}, 60_000);
