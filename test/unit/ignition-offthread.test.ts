// Butane off the serving thread (issue #16 §2): with a translator, a new secret version is translated on a real
// worker when the index changes; until then its verdict is "pending" and waiting for it gives the one cached result
// that the HTTP answer and the diagnosis both read. Over the time budget it is a Butane error on that Secret.
import { afterEach, describe, expect, test } from "bun:test";
import { diagnoseAll } from "../../src/boot/diagnose.ts";
import { workerButaneTranslator } from "../../src/boot/ignition.ts";
import { ignitionServability, settledIgnitionServability } from "../../src/boot/servability.ts";
import { BootStore } from "../../src/boot/store.ts";
import { ipxeConfig, secret } from "./fixtures.ts";

const UUID = "00000000-0000-4000-8000-000000000001";
const BUTANE = "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/motd\n      contents: {inline: hello}\n";
const config = ipxeConfig("machine", { systemUUID: UUID, ignitionSecretRef: { name: "ign" } });

let closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers) close();
  closers = [];
});

function storeWithTranslator(timeoutMs: number, butane = BUTANE): BootStore {
  const store = new BootStore();
  const translator = workerButaneTranslator({ timeoutMs });
  closers.push(translator.close);
  store.ignition.useTranslator(translator.translate);
  store.apply({ snapshot: { ipxeBootConfigs: [config], httpBootConfigs: [], secrets: [secret("ign", { format: "fcos", ignition: butane })] }, problems: [] });
  return store;
}

describe("Butane translated on a worker", () => {
  test("pending right after the index changes, then the translated document, read alike by HTTP and diagnosis", async () => {
    const store = storeWithTranslator(30_000);
    const pending = ignitionServability(store.index, store, config);
    expect(pending.ok).toBe(false);
    if (!pending.ok) expect(pending.reason).toBe("IgnitionPending");
    const answer = await settledIgnitionServability(store.index, store, config);
    expect(answer.ok).toBe(true);
    if (answer.ok) expect(JSON.parse(answer.json).storage.files[0].path).toBe("/etc/motd");
    // The same cached object, not a second translation.
    expect(ignitionServability(store.index, store, config)).toBe(answer);
    expect(diagnoseAll(store.index, store)[0]?.state).toBe("Ready");
  });

  test("a document over the budget is a ButaneTranslationFailed naming the secret; the diagnosis says the same", async () => {
    const store = storeWithTranslator(1);
    const answer = await settledIgnitionServability(store.index, store, config);
    expect(answer).toMatchObject({ ok: false, status: 500, reason: "ButaneTranslationFailed" });
    if (!answer.ok) expect(answer.message).toBe("butane in secret default/ign does not translate: took longer than 0.001 s; stopped");
    const diagnosis = diagnoseAll(store.index, store)[0];
    expect(diagnosis?.problems).toEqual([{ reason: "ButaneTranslationFailed", message: answer.ok ? "" : answer.message }]);
  });

  test("store.settle waits for the config's secret, as the status reconciler does before diagnosing", async () => {
    const store = storeWithTranslator(30_000, "variant: fcos\nversion: 9.9.9\n");
    await store.settle("IPXEBootConfig", "default/machine");
    const diagnosis = diagnoseAll(store.index, store)[0];
    expect(diagnosis?.problems[0]?.reason).toBe("ButaneTranslationFailed");
  });

  test("without a translator (validate, explain) Butane is translated at once, as before", () => {
    const store = new BootStore();
    store.apply({ snapshot: { ipxeBootConfigs: [config], httpBootConfigs: [], secrets: [secret("ign", { format: "fcos", ignition: BUTANE })] }, problems: [] });
    expect(ignitionServability(store.index, store, config).ok).toBe(true);
  });
});

describe("refresh after a change looks only at what changed", () => {
  test("with a delta, a changed secret and one a changed config now references are translated; the rest is kept", async () => {
    const calls: string[] = [];
    const store = new BootStore();
    store.ignition.useTranslator(async (source, _format, secretKey) => {
      calls.push(secretKey);
      return { ok: true, json: source, warnings: [] } as never;
    });
    const other = ipxeConfig("other", { systemUUID: "00000000-0000-4000-8000-000000000002" });
    const secrets = [secret("ign", { format: "fcos", ignition: BUTANE }), secret("later", { format: "fcos", ignition: BUTANE })];
    store.apply({ snapshot: { ipxeBootConfigs: [config, other], httpBootConfigs: [], secrets, serial: 1 }, problems: [] });
    expect(calls).toEqual(["default/ign"]); // "later" is referenced by nothing yet
    const edited = secret("ign", { format: "fcos", ignition: `${BUTANE}# edited\n` });
    const referencing = ipxeConfig("other", { systemUUID: "00000000-0000-4000-8000-000000000002", ignitionSecretRef: { name: "later" } });
    store.apply({
      snapshot: {
        ipxeBootConfigs: [config, referencing],
        httpBootConfigs: [],
        secrets: [edited, secrets[1] as (typeof secrets)[number]],
        serial: 2,
        delta: {
          since: 1,
          ipxeBootConfigs: new Map([["default/other", referencing]]),
          httpBootConfigs: new Map(),
          secrets: new Map([["default/ign", edited]]),
        },
      },
      problems: [],
    });
    expect(calls.sort()).toEqual(["default/ign", "default/ign", "default/later"]);
    // Removed by a delta: forgotten.
    store.apply({
      snapshot: {
        ipxeBootConfigs: [config],
        httpBootConfigs: [],
        secrets: [edited],
        serial: 3,
        delta: {
          since: 2,
          ipxeBootConfigs: new Map([["default/other", undefined]]),
          httpBootConfigs: new Map(),
          secrets: new Map([["default/later", undefined]]),
        },
      },
      problems: [],
    });
    expect(store.ignition.size).toBe(1);
  });
});
