// One definition of "servable": for every way a config can be broken, the reason a machine reads in the HTTP answer
// is, word for word, the diagnosis message — which is what the status condition, `validate` and `explain` show.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { HTTPBootConfig, IPXEBootConfig } from "../../src/api/index.ts";
import { type DiagnosisReason, diagnoseAll } from "../../src/boot/diagnose.ts";
import { servability } from "../../src/boot/servability.ts";
import { explainMachine } from "../../src/cli/explain.ts";
import { validateDirectory } from "../../src/cli/validate.ts";
import { desiredStatus } from "../../src/controllers/conditions.ts";
import { httpConfig, ipxeConfig, secret } from "./fixtures.ts";
import { testApp } from "./http/harness.ts";

const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const LOCAL_FILE_BUTANE = "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/motd\n      contents: {local: motd.txt}\n";

interface BrokenCase {
  name: string;
  config: IPXEBootConfig | HTTPBootConfig;
  /** The endpoint that answers the machine with the error. */
  path: string;
  status: 404 | 500;
  reason: DiagnosisReason;
}

const ignitionCase = (n: number, name: string, status: 404 | 500, reason: DiagnosisReason): BrokenCase => ({
  name,
  config: ipxeConfig(name, { systemUUID: uuid(n), ignitionSecretRef: { name: `${name}-secret` } }),
  path: `/ignition/${uuid(n)}`,
  status,
  reason,
});
const scriptCase = (n: number, name: string, status: 404 | 500, reason: DiagnosisReason): BrokenCase => ({
  name,
  config: ipxeConfig(name, { systemUUID: uuid(n), ipxeScriptSecretRef: { name: `${name}-secret` } }),
  path: `/ipxe/${uuid(n)}`,
  status,
  reason,
});

const CASES: BrokenCase[] = [
  ignitionCase(1, "missing-secret", 404, "SecretNotFound"),
  ignitionCase(2, "secret-missing-key", 404, "SecretKeyMissing"),
  ignitionCase(3, "bad-json", 500, "IgnitionInvalid"),
  ignitionCase(4, "json-not-object", 500, "IgnitionInvalid"),
  ignitionCase(5, "butane-error", 500, "ButaneTranslationFailed"),
  ignitionCase(6, "unsupported-variant", 500, "ButaneTranslationFailed"),
  ignitionCase(7, "unknown-format", 500, "IgnitionInvalid"),
  scriptCase(8, "missing-script-secret", 404, "SecretNotFound"),
  scriptCase(9, "script-missing-key", 404, "SecretKeyMissing"),
  scriptCase(10, "bad-template", 500, "IPXEScriptInvalid"),
  {
    name: "http-missing-secret",
    config: httpConfig("http-missing-secret", { systemUUID: uuid(11), ukiURL: "/uki/x.efi", ignitionSecretRef: { name: "gone" } }),
    path: `/ignition/${uuid(11)}`,
    status: 404,
    reason: "SecretNotFound",
  },
];

const SECRETS = [
  secret("secret-missing-key-secret", { format: "fcos" }),
  secret("bad-json-secret", { ignition: "{not json" }),
  secret("json-not-object-secret", { ignition: '"a string"' }),
  secret("butane-error-secret", { format: "fcos", ignition: LOCAL_FILE_BUTANE }),
  // Butane variants this server does not translate are refused with one line naming the variant.
  secret("unsupported-variant-secret", { format: "fcos", ignition: "variant: openshift\nversion: 4.14.0\n" }),
  // Not fcos/flatcar: taken as Ignition JSON, which Butane YAML is not.
  secret("unknown-format-secret", { format: "butane", ignition: "variant: fcos\nversion: 1.5.0\n" }),
  secret("script-missing-key-secret", { ignition: "{}" }),
  secret("bad-template-secret", { "ipxe-script": "#!ipxe\n{{if .KernelURL}}\nboot\n" }),
];
const NO_UKI = httpConfig("no-uki", { networkIdentifiers: ["10.9.0.4"] });

const ipxe = CASES.map((c) => c.config).filter((config): config is IPXEBootConfig => config.kind === "IPXEBootConfig");
const http = [...CASES.map((c) => c.config).filter((config): config is HTTPBootConfig => config.kind === "HTTPBootConfig"), NO_UKI];
const subject = testApp({ ipxe, http, secrets: SECRETS });
const store = subject.deps.store;
const diagnoses = new Map(diagnoseAll(store.index, store).map((diagnosis) => [diagnosis.key, diagnosis]));

let directory: string;
let validateErrors: string[] = [];
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "servability-"));
  await writeFile(join(directory, "all.yaml"), [...ipxe, ...http, ...SECRETS].map((object) => stringify(object)).join("---\n"));
  validateErrors = (await validateDirectory(directory)).errors;
});
afterAll(() => rm(directory, { recursive: true, force: true }));

describe.each(CASES)("$name", (broken) => {
  const key = `default/${broken.name}`;

  test("the HTTP answer is the diagnosis", async () => {
    const diagnosis = diagnoses.get(key);
    expect(diagnosis?.state).toBe("Error");
    expect(diagnosis?.problems).toHaveLength(1);
    const problem = diagnosis?.problems[0];
    expect(problem?.reason).toBe(broken.reason);
    const response = await subject.request(broken.path);
    expect(response.status).toBe(broken.status);
    expect(await response.text()).toBe(`${problem?.message}\n`);
  });

  test("status condition, validate and explain say the same words", async () => {
    const response = await subject.request(broken.path);
    const reason = (await response.text()).trimEnd();
    const diagnosis = diagnoses.get(key);
    if (!diagnosis) throw new Error(`no diagnosis for ${key}`);
    const ready = desiredStatus(diagnosis, 1, [], new Date()).conditions[0];
    expect(ready).toMatchObject({ type: "Ready", status: "False", reason: broken.reason, message: reason });
    expect(validateErrors).toContain(`${broken.config.kind} ${key}: ${reason}`);
    const explained = explainMachine(store, { uuid: broken.config.spec.systemUUID });
    expect(explained).toContain(`  ! ${broken.reason}: ${reason}`);
  });

  test("the pure verdict carries the same status and message", () => {
    const endpoints = servability(store.index, store, broken.config);
    const verdict = broken.path.startsWith("/ipxe/") && endpoints.kind === "IPXEBootConfig" ? endpoints.ipxe : endpoints.ignition;
    expect(verdict).toMatchObject({ ok: false, status: broken.status, reason: broken.reason, message: diagnoses.get(key)?.problems[0]?.message });
  });
});

test("what is not configured is a 404 for the machine but no error: no ukiURL is a warning, no ignitionSecretRef nothing", async () => {
  const response = await subject.request("/httpboot", { from: "10.9.0.4" });
  expect(response.status).toBe(404);
  const reason = (await response.text()).trimEnd();
  const diagnosis = diagnoses.get("default/no-uki");
  expect(reason).toBe("HTTPBootConfig default/no-uki has no ukiURL and no default UKI is configured");
  expect(diagnosis).toMatchObject({
    state: "Ready",
    problems: [],
    warnings: ["HTTPBootConfig default/no-uki has no ukiURL: /httpboot answers the default UKI for it, if one is configured"],
  });
  expect(explainMachine(store, { ip: "10.9.0.4" })).toContain(`/httpboot: HTTPBootConfig default/no-uki (matched by ip 10.9.0.4) → 404: ${reason}`);
  const noIgnition = await subject.request(`/ignition/${uuid(8)}`);
  expect(noIgnition.status).toBe(404);
  expect(await noIgnition.text()).toBe("IPXEBootConfig default/missing-script-secret has no ignitionSecretRef\n");
  expect(diagnoses.get("default/missing-script-secret")?.problems.map((problem) => problem.reason)).toEqual(["SecretNotFound"]);
});
