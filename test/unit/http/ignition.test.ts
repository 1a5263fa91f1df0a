// /ignition/{uuid} in process: raw Ignition as stored, Butane translated, which config wins, and every error.
import { describe, expect, test } from "bun:test";
import { httpConfig, ipxeConfig, secret } from "../fixtures.ts";
import { testApp } from "./harness.ts";

const RAW = '{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core"}]}}';
const BUTANE = "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/hostname\n      mode: 0644\n      contents:\n        inline: machine-2\n";
const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

const resources = {
  ipxe: [
    ipxeConfig("raw", { systemUUID: uuid(1), ignitionSecretRef: { name: "raw" } }),
    ipxeConfig("no-ref", { systemUUID: uuid(3) }),
    ipxeConfig("missing-secret", { systemUUID: uuid(4), ignitionSecretRef: { name: "nope" } }),
    ipxeConfig("keyless", { systemUUID: uuid(5), ignitionSecretRef: { name: "keyless" } }),
    ipxeConfig("not-json", { systemUUID: uuid(6), ignitionSecretRef: { name: "not-json" } }),
    ipxeConfig("not-object", { systemUUID: uuid(7), ignitionSecretRef: { name: "not-object" } }),
    ipxeConfig("bad-butane", { systemUUID: uuid(8), ignitionSecretRef: { name: "bad-butane" } }),
    ipxeConfig("wins", { systemUUID: uuid(9), ignitionSecretRef: { name: "raw" } }),
  ],
  http: [
    httpConfig("butane", { systemUUID: uuid(2), ignitionSecretRef: { name: "butane" } }),
    httpConfig("loses", { systemUUID: uuid(9), ignitionSecretRef: { name: "butane" } }),
  ],
  secrets: [
    secret("raw", { ignition: RAW }),
    secret("butane", { format: "fcos", ignition: BUTANE }),
    secret("keyless", { format: "fcos" }),
    secret("not-json", { ignition: "not json" }),
    secret("not-object", { ignition: "[1, 2]" }),
    secret("bad-butane", {
      format: "fcos",
      ignition: "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/motd\n      contents: {local: motd.txt}\n",
    }),
  ],
};

describe("/ignition/{uuid}", () => {
  test("raw Ignition is served byte for byte, never cached by clients", async () => {
    const subject = testApp(resources);
    const response = await subject.request(`/ignition/${uuid(1).toUpperCase()}`, { from: "10.0.0.7" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.text()).toBe(RAW);
    expect(subject.served).toMatchObject([{ milestone: "ignition", kind: "IPXEBootConfig", configKey: "default/raw", client: "10.0.0.7" }]);
    expect(subject.logs.find((line) => line.msg === "served ignition")).toMatchObject({ format: "ignition" });
  });

  test("Butane (format: fcos) is translated, YAML 1.1 octal modes included", async () => {
    const subject = testApp(resources);
    const response = await subject.request(`/ignition/${uuid(2)}`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { ignition: { version: string }; storage: { files: { path: string; mode: number }[] } };
    expect(document.ignition.version).toBe("3.4.0");
    expect(document.storage.files[0]).toMatchObject({ path: "/etc/hostname", mode: 0o644 });
    expect(subject.served).toMatchObject([{ kind: "HTTPBootConfig", configKey: "default/butane" }]);
  });

  test("an IPXEBootConfig wins over an HTTPBootConfig for the same machine", async () => {
    const subject = testApp(resources);
    expect(await (await subject.request(`/ignition/${uuid(9)}`)).text()).toBe(RAW);
    expect(subject.served).toMatchObject([{ configKey: "default/wins" }]);
  });

  test("HEAD: the headers without the document", async () => {
    const response = await testApp(resources).request(`/ignition/${uuid(1)}`, { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.text()).toBe("");
  });

  test.each([
    ["nope", 400, 'invalid machine UUID "nope"'],
    [uuid(99), 404, `no IPXEBootConfig or HTTPBootConfig has systemUUID ${uuid(99)}`],
    [uuid(3), 404, "IPXEBootConfig default/no-ref has no ignitionSecretRef"],
    [uuid(4), 404, "ignition secret default/nope referenced by IPXEBootConfig default/missing-secret does not exist"],
    [uuid(5), 404, 'secret default/keyless has no key "ignition"'],
    [uuid(6), 500, "ignition in secret default/not-json is not valid JSON: "],
    [uuid(7), 500, "ignition in secret default/not-object is not a JSON object"],
    [uuid(8), 500, "butane in secret default/bad-butane does not translate: storage.files.0.contents.local (line "],
  ])("/ignition/%s → %d with its reason, on one line", async (id, status, reason) => {
    const subject = testApp(resources);
    const response = await subject.request(`/ignition/${id}`);
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const body = await response.text();
    expect(body).toStartWith(reason);
    expect(body.split("\n")).toHaveLength(2);
    expect(subject.served).toEqual([]);
    // Broken content (500) is the operator's problem: logged; a missing reference (404) is the machine's answer only.
    expect(subject.logs.some((line) => line.msg === "cannot serve ignition")).toBe(status === 500);
  });
});
