// Custom iPXE scripts off the serving thread (issue #16 §2): with a parser, a new script secret version is parsed on
// a real worker when the index changes; until then its verdict is "pending" and waiting for it gives the one cached
// result that the HTTP answer and the diagnosis both read. Over the time budget it is an error on that Secret.
import { afterEach, describe, expect, test } from "bun:test";
import { diagnoseAll } from "../../src/boot/diagnose.ts";
import { workerIpxeTemplateParser } from "../../src/boot/ipxe-scripts.ts";
import { ipxeScriptServability, settledIpxeScriptServability } from "../../src/boot/servability.ts";
import { BootStore } from "../../src/boot/store.ts";
import { ipxeConfig, secret } from "./fixtures.ts";

const UUID = "00000000-0000-4000-8000-000000000001";
const SCRIPT = "#!ipxe\nkernel {{.KernelURL}}\n{{if .InitrdURL}}initrd {{.InitrdURL}}{{end}}\nboot\n";
const config = ipxeConfig("machine", { systemUUID: UUID, ipxeScriptSecretRef: { name: "script" } });

let closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers) close();
  closers = [];
});

function storeWithParser(timeoutMs: number, script = SCRIPT): BootStore {
  const store = new BootStore();
  const parser = workerIpxeTemplateParser({ timeoutMs });
  closers.push(parser.close);
  store.ipxeScripts.useParser(parser.parse);
  store.apply({ snapshot: { ipxeBootConfigs: [config], httpBootConfigs: [], secrets: [secret("script", { "ipxe-script": script })] }, problems: [] });
  return store;
}

describe("custom iPXE script parsed on a worker", () => {
  test("pending right after the index changes, then the parsed template, read alike by HTTP and diagnosis", async () => {
    const store = storeWithParser(30_000);
    const pending = ipxeScriptServability(store.index, store, config);
    expect(pending).toMatchObject({ ok: false, status: 503, reason: "IPXEScriptPending" });
    const answer = await settledIpxeScriptServability(store.index, store, config);
    expect(answer.ok).toBe(true);
    if (answer.ok) expect(answer.template?.source).toBe(SCRIPT);
    // The same cached object, not a second parse.
    expect(ipxeScriptServability(store.index, store, config)).toBe(answer);
    expect(diagnoseAll(store.index, store)[0]?.state).toBe("Ready");
  });

  test("a template error on the worker is IPXEScriptInvalid naming the secret and the line", async () => {
    const store = storeWithParser(30_000, "#!ipxe\n{{.Nope}}\n");
    await store.settle("IPXEBootConfig", "default/machine");
    const diagnosis = diagnoseAll(store.index, store)[0];
    expect(diagnosis?.problems[0]?.reason).toBe("IPXEScriptInvalid");
    expect(diagnosis?.problems[0]?.message).toStartWith("ipxe-script in secret default/script: line 2: unknown template field");
  });

  test("a script over the budget is IPXEScriptInvalid naming the secret; the diagnosis says the same", async () => {
    const store = storeWithParser(1);
    const answer = await settledIpxeScriptServability(store.index, store, config);
    expect(answer).toMatchObject({ ok: false, status: 500, reason: "IPXEScriptInvalid" });
    if (!answer.ok) expect(answer.message).toBe("ipxe-script in secret default/script: took longer than 0.001 s; stopped");
    const diagnosis = diagnoseAll(store.index, store)[0];
    expect(diagnosis?.problems).toEqual([{ reason: "IPXEScriptInvalid", message: answer.ok ? "" : answer.message }]);
  });

  test("without a parser (validate, explain) the script is parsed at once, as before", () => {
    const store = new BootStore();
    store.apply({ snapshot: { ipxeBootConfigs: [config], httpBootConfigs: [], secrets: [secret("script", { "ipxe-script": SCRIPT })] }, problems: [] });
    expect(ipxeScriptServability(store.index, store, config).ok).toBe(true);
  });
});

describe("refresh after a change looks only at what changed", () => {
  test("with a delta, a changed script and one a changed config now references are parsed; a removed one is forgotten", () => {
    const calls: string[] = [];
    const store = new BootStore();
    store.ipxeScripts.useParser(async (source, secretKey) => {
      calls.push(secretKey);
      return { ok: true, template: source } as never;
    });
    const other = ipxeConfig("other", { systemUUID: "00000000-0000-4000-8000-000000000002" });
    const secrets = [secret("script", { "ipxe-script": "#!ipxe\nboot\n" }), secret("later", { "ipxe-script": "#!ipxe\nexit\n" })];
    store.apply({ snapshot: { ipxeBootConfigs: [config, other], httpBootConfigs: [], secrets, serial: 11 }, problems: [] });
    expect(calls).toEqual(["default/script"]);
    const edited = secret("script", { "ipxe-script": "#!ipxe\nreboot\n" });
    const referencing = ipxeConfig("other", { systemUUID: "00000000-0000-4000-8000-000000000002", ipxeScriptSecretRef: { name: "later" } });
    const later = secrets[1] as (typeof secrets)[number];
    store.apply({
      snapshot: {
        ipxeBootConfigs: [config, referencing],
        httpBootConfigs: [],
        secrets: [edited, later],
        serial: 12,
        delta: {
          since: 11,
          ipxeBootConfigs: new Map([["default/other", referencing]]),
          httpBootConfigs: new Map(),
          secrets: new Map([["default/script", edited]]),
        },
      },
      problems: [],
    });
    expect(calls.sort()).toEqual(["default/later", "default/script", "default/script"]);
    store.apply({
      snapshot: {
        ipxeBootConfigs: [config],
        httpBootConfigs: [],
        secrets: [edited],
        serial: 13,
        delta: {
          since: 12,
          ipxeBootConfigs: new Map([["default/other", undefined]]),
          httpBootConfigs: new Map(),
          secrets: new Map([["default/later", undefined]]),
        },
      },
      problems: [],
    });
    expect(store.ipxeScripts.size).toBe(1);
  });
});
