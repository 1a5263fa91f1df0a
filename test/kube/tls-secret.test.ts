// --tls-secret against a real API server: the HTTPS listener serves the kubernetes.io/tls Secret's chain; updating
// the Secret rotates the certificate for new connections without a restart; a broken update (a key that is not
// the certificate's) keeps the previous certificate and leaves a Warning Event on the Secret.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:tls";
import { parsePemCertificates } from "../../src/boot/trust-formats.ts";
import type { Appliance } from "../harness/appliance.ts";
import type { ControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";
import { type KubeMode, startKubeMode } from "../harness/kube-mode.ts";
import { makeTestPki, type TestPki } from "../harness/pki.ts";
import { eventually } from "../harness/wait.ts";

const NS = "tls-secret";

let kube: KubeMode | undefined;
let cp: ControlPlane;
let app: Appliance;
let pki: TestPki;
let ca: string;
let port: number;

function tlsSecret(certPem: string, keyPem: string) {
  const encode = (text: string): string => Buffer.from(text).toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/tls",
    metadata: { name: "serving", namespace: NS },
    data: { "tls.crt": encode(certPem), "tls.key": encode(keyPem), "ca.crt": encode(pki.pem("root.crt")) },
  };
}

function serialOf(pem: string): string {
  const parsed = parsePemCertificates(pem);
  if (!parsed.ok || !parsed.certificates[0]) throw new Error("no certificate");
  return parsed.certificates[0].x509.serialNumber.toUpperCase();
}

function peerSerial(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      resolve(socket.getPeerCertificate().serialNumber.toUpperCase());
      socket.end();
    });
    socket.on("error", reject);
  });
}

let first: ReturnType<TestPki["leaf"]>;

beforeAll(async () => {
  pki = makeTestPki();
  ca = pki.pem("root.crt");
  first = pki.leaf("first");
  kube = await startKubeMode({
    crdPaths: BOOT_CRD_PATHS,
    namespace: NS,
    prepare: (controlPlane) => controlPlane.applyObjects([tlsSecret(first.chainPem, first.keyPem)]),
    applianceArgs: ["--tls-listen", "127.0.0.1:0", "--tls-secret", `${NS}/serving`],
  });
  ({ cp, app } = kube);
  port = Number(new URL(String(app.logs.find((line) => line.msg === "boot server listening")?.tlsUrl)).port);
}, 120_000);

afterAll(async () => {
  await kube?.stop();
});

describe("--tls-secret", () => {
  test("serves the Secret's chain; /certs/ca.der is its ca.crt", async () => {
    expect(await peerSerial()).toBe(serialOf(first.chainPem));
    const der = new Uint8Array(await (await fetch(`${app.url}/certs/ca.der`)).arrayBuffer());
    const root = parsePemCertificates(ca);
    expect(root.ok && Buffer.from(der).equals(Buffer.from(root.certificates[0]?.der ?? []))).toBe(true);
  });

  test("a Secret update rotates the certificate for new connections", async () => {
    const second = pki.leaf("second");
    await cp.applyObjects([tlsSecret(second.chainPem, second.keyPem)]);
    await eventually(async () => (await peerSerial()) === serialOf(second.chainPem), "new connections to see the rotated leaf");
  });

  test("a broken update keeps the previous certificate, is counted and leaves a Warning Event on the Secret", async () => {
    const before = await peerSerial();
    const third = pki.leaf("third");
    await cp.applyObjects([tlsSecret(third.chainPem, first.keyPem)]);
    await app.waitForLog((line) => line.msg === "serving certificate not reloaded");
    expect(await peerSerial()).toBe(before);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain("boot_operator_certificate_reload_failures_total 1");
    const event = await eventually(async () => {
      const list = (await cp.requestOk("GET", `/api/v1/namespaces/${NS}/events`)) as {
        items: { reason: string; type: string; message: string; involvedObject: { kind: string; name: string } }[];
      };
      return list.items.find((item) => item.involvedObject.kind === "Secret" && item.reason === "CertificateReloadFailed");
    }, "a CertificateReloadFailed Event on the Secret");
    expect(event.type).toBe("Warning");
    expect(event.involvedObject.name).toBe("serving");
    expect(event.message).toContain(`Secret ${NS}/serving tls.key: the key does not belong`);
  });
});
