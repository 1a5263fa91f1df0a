// The Go operator's manager flags, mapped onto ours: each mapping, each refusal and each start-up notice.
import { describe, expect, test } from "bun:test";
import { FLAGS, helpFor, parseArgs, UsageError } from "../../src/cli/flags.ts";
import { goServiceUrl, parseControllerSwitches, planControllers, zapLogLevel } from "../../src/cli/go-compat.ts";
import { resolveServeOptions } from "../../src/cli/options.ts";
import { matchesPathPattern, planSideListeners } from "../../src/http/server.ts";

/** What main.ts does: parse (the Go manager's way when asked), then resolve. */
function serveOptions(argv: string[], env: Record<string, string> = {}, goManager = false) {
  return resolveServeOptions(parseArgs("serve", argv, env, { goManager }), env, goManager);
}

// The args of the Go operator's Deployments: metal-operator's Tiltfile (config/dev) and the kubebuilder manifest
// with its metrics patch (config/manager + config/default).
const METAL_OPERATOR_TILT_ARGS = [
  "--ipxe-service-url=http://boot-service:30007",
  "--ipxe-service-port=30007",
  "--leader-elect",
  "--controllers=ipxebootconfig,serverbootconfigpxe,serverbootconfighttp,httpbootconfig",
  "--health-probe-bind-address=:8081",
  "--metrics-bind-address=127.0.0.1:8085",
];
const KUBEBUILDER_ARGS = ["--metrics-bind-address=:8443", "--leader-elect", "--health-probe-bind-address=:8081"];

describe("the Go operator's Deployment args start serve", () => {
  test("metal-operator's: kube source, both translator modes, status, probes on :8081, metrics on 127.0.0.1:8085", () => {
    const options = serveOptions(METAL_OPERATOR_TILT_ARGS, {}, true);
    expect(options.source).toEqual({ type: "kube" });
    expect(options["public-url"]).toBe("http://boot-service:30007");
    expect(options["leader-elect"]).toBe(true);
    expect(options["leader-election-id"]).toBe("e9f0940b.ironcore.dev");
    expect(options["translator-modes"]).toEqual({ ipxe: true, httpboot: true });
    expect(options["reconcile-status"]).toBe(true);
    expect(options["health-probe-bind-address"]).toEqual({ hostname: "0.0.0.0", port: 8081 });
    expect(options["metrics-listen"]).toEqual({ hostname: "127.0.0.1", port: 8085 });
    expect(options["image-proxy-server-address"]).toEqual({ hostname: "0.0.0.0", port: 8083 });
    expect(options.listen).toEqual({ hostname: "0.0.0.0", port: 8082 });
    // The Go manager's default --metrics-secure=true: said once at start, nothing else is.
    expect(options.notices.map((notice) => notice.flag)).toEqual(["--metrics-secure"]);
  });

  test("the kubebuilder manifest's: no --controllers means our defaults (status on, translator off)", () => {
    const options = serveOptions(KUBEBUILDER_ARGS, {}, true);
    expect(options.source).toEqual({ type: "kube" });
    expect(options["reconcile-status"]).toBe(true);
    expect(options["translator-modes"]).toEqual({ ipxe: false, httpboot: false });
    expect(options["metrics-listen"]).toEqual({ hostname: "0.0.0.0", port: 8443 });
  });

  test("run our way (serve …), the Go defaults do not apply: no side listeners, our Lease", () => {
    const options = serveOptions([]);
    expect(options.source).toEqual({ type: "embedded" });
    expect(options["health-probe-bind-address"]).toBeUndefined();
    expect(options["metrics-listen"]).toBeUndefined();
    expect(options["image-proxy-server-address"]).toBeUndefined();
    expect(options["leader-election-id"]).toBe("boot-operator-leader");
    expect(options.notices).toEqual([]);
  });

  test("an explicit source, flag or environment, still wins the Go manager's way", () => {
    expect(serveOptions(["--source", "dir:/r"], {}, true).source).toEqual({ type: "dir", directory: "/r" });
    expect(serveOptions([], { BOOT_OPERATOR_SOURCE: "embedded" }, true).source).toEqual({ type: "embedded" });
  });

  test('"0" turns a side listener off, as for controller-runtime', () => {
    const options = serveOptions(["--metrics-bind-address=0", "--health-probe-bind-address", "0", "--metrics-secure=false"], {}, true);
    expect(options["metrics-listen"]).toBeUndefined();
    expect(options["health-probe-bind-address"]).toBeUndefined();
    expect(options.notices).toEqual([]);
  });

  test("every Go flag is a serve flag (none makes the binary exit 2)", () => {
    const goFlags = [
      "architecture",
      "ipxe-service-port",
      "ipxe-service-protocol",
      "ipxe-service-url",
      "image-server-url",
      "metrics-bind-address",
      "health-probe-bind-address",
      "boot-server-address",
      "ipxe-server-address",
      "image-proxy-server-address",
      "leader-elect",
      "metrics-cert-path",
      "metrics-cert-name",
      "metrics-cert-key",
      "metrics-secure",
      "enable-http2",
      "controllers",
      "default-httpboot-uki-url",
      "machinebootconfig-namespace",
      "default-kernel-url",
      "default-initrd-url",
      "default-squashfs-url",
      "default-ipxe-server-url",
      "zap-devel",
      "zap-encoder",
      "zap-log-level",
      "zap-stacktrace-level",
      "zap-time-encoding",
      "kubeconfig",
    ];
    const names = FLAGS.filter((flag) => flag.commands.includes("serve")).flatMap((flag) => [flag.name, ...(flag.aliases ?? [])]);
    for (const flag of goFlags) expect(names).toContain(flag);
  });
});

describe("--controllers (controller-utils switches)", () => {
  test("names enable, -name disables, * is all; without * only the named ones", () => {
    expect(parseControllerSwitches("ipxebootconfig,serverbootconfigpxe")).toEqual({ ok: true, value: new Set(["ipxebootconfig", "serverbootconfigpxe"]) });
    const all = parseControllerSwitches("*,-serverbootconfighttp");
    expect(all.ok && all.value.has("serverbootconfighttp")).toBe(false);
    expect(all.ok && all.value.has("serverbootconfigpxe")).toBe(true);
    expect(parseControllerSwitches("")).toEqual({ ok: true, value: new Set() });
    expect(parseControllerSwitches("ipxebootconfig,nope")).toMatchObject({ ok: false, reason: expect.stringContaining('unknown controller "nope"') });
  });

  test("mapped onto the status reconciler and the translator", () => {
    const only = (text: string) => {
      const switches = parseControllerSwitches(text);
      if (!switches.ok) throw new Error(switches.reason);
      return planControllers(switches.value);
    };
    expect(only("serverbootconfigpxe")).toEqual({ reconcileStatus: false, translator: { ipxe: true, httpboot: false }, notices: [] });
    expect(only("httpbootconfig,ipxebootconfig,serverbootconfighttp")).toMatchObject({ reconcileStatus: true, translator: { ipxe: false, httpboot: true } });
    expect(only("serverbootconfig").translator.ipxe).toBe(true); // the PXE translator's older name
    expect(only("ipxebootconfig").notices[0]?.reason).toContain("both are reconciled");
    expect(only("*").notices.map((notice) => notice.reason)).toEqual([
      "serverbootconfigvirtualmedia has no counterpart here and does not run",
      "machinebootconfighttp has no counterpart here and does not run",
    ]);
  });

  test("in the options: --translator-modes may agree, not disagree; outside kube it is a notice", () => {
    expect(serveOptions(["--source", "kube", "--controllers=serverbootconfigpxe", "--translator-modes", "ipxe"])["translator-modes"]).toEqual({
      ipxe: true,
      httpboot: false,
    });
    expect(() => serveOptions(["--source", "kube", "--controllers=serverbootconfigpxe", "--translator-modes", "httpboot"])).toThrow(UsageError);
    expect(() => serveOptions(["--controllers=bogus"])).toThrow("--controllers");
    expect(serveOptions(["--controllers=ipxebootconfig,httpbootconfig"]).notices).toEqual([
      { flag: "--controllers", reason: "only means something with --source kube" },
    ]);
  });
});

describe("logging flags", () => {
  test("--zap-log-level by name or verbosity; --log-level wins; --zap-devel means debug", () => {
    expect(zapLogLevel("error")).toEqual({ ok: true, value: "error" });
    expect(zapLogLevel("panic")).toEqual({ ok: true, value: "error" });
    expect(zapLogLevel("3")).toEqual({ ok: true, value: "debug" });
    expect(zapLogLevel("loud").ok).toBe(false);
    expect(serveOptions(["--zap-log-level=debug"])["log-level"]).toBe("debug");
    expect(serveOptions(["--zap-log-level=debug", "--log-level", "warn"])["log-level"]).toBe("warn");
    expect(serveOptions(["--zap-devel"])["log-level"]).toBe("debug");
    expect(serveOptions(["--zap-devel=false"])["log-level"]).toBe("info");
    expect(() => serveOptions(["--zap-log-level=loud"])).toThrow('--zap-log-level "loud"');
  });

  test("encoder, stack trace and time encoding: accepted, a notice where ours differs, an error where Go's is too", () => {
    expect(serveOptions(["--zap-encoder=json", "--zap-time-encoding=rfc3339nano"]).notices).toEqual([]);
    expect(serveOptions(["--zap-encoder=console", "--zap-stacktrace-level=error", "--zap-time-encoding=epoch"]).notices.map((n) => n.flag)).toEqual([
      "--zap-encoder",
      "--zap-stacktrace-level",
      "--zap-time-encoding",
    ]);
    expect(() => serveOptions(["--zap-encoder=xml"])).toThrow("--zap-encoder");
  });
});

describe("the public URL the Go manager builds", () => {
  test("<protocol>://$IPXE_SERVER_ADDRESS:<port> when --ipxe-service-url is not given", () => {
    expect(goServiceUrl("10.0.0.5", undefined, undefined)).toEqual({ ok: true, value: "http://10.0.0.5:5000" });
    expect(goServiceUrl("fd00::5", "https", "8443")).toEqual({ ok: true, value: "https://[fd00::5]:8443" });
    expect(goServiceUrl("h", "gopher", undefined).ok).toBe(false);
    expect(serveOptions(["--ipxe-service-port=30007"], { IPXE_SERVER_ADDRESS: "10.0.0.5" })["public-url"]).toBe("http://10.0.0.5:30007");
    expect(serveOptions(["--public-url", "http://x:1", "--ipxe-service-port=30007"], { IPXE_SERVER_ADDRESS: "10.0.0.5" })["public-url"]).toBe("http://x:1");
  });
  test("without $IPXE_SERVER_ADDRESS the port has no effect, and says so", () => {
    const options = serveOptions(["--ipxe-service-port=30007"]);
    expect(options["public-url"]).toBeUndefined();
    expect(options.notices[0]).toMatchObject({ flag: "--ipxe-service-port", reason: expect.stringContaining("$IPXE_SERVER_ADDRESS") });
  });
});

describe("accepted with a notice", () => {
  test("each names its flag and why", () => {
    const flags = serveOptions([
      "--source",
      "kube",
      "--metrics-secure",
      "--enable-http2",
      "--image-server-url=http://images:8083/httpboot",
      "--machinebootconfig-namespace=x",
      "--default-kernel-url=http://k",
      "--metrics-cert-path=/certs",
    ]).notices.map((notice) => notice.flag);
    expect(flags).toEqual([
      "--metrics-secure",
      "--metrics-cert-path",
      "--enable-http2",
      "--image-server-url",
      "--machinebootconfig-namespace",
      "--default-kernel-url",
    ]);
  });
});

describe("metrics listener paths", () => {
  test("route patterns: literal segments match exactly, a :name segment any one non-empty segment", () => {
    const patterns = ["/metrics", "/debug/machines/:uuid"];
    expect(matchesPathPattern("/metrics", patterns)).toBe(true);
    expect(matchesPathPattern("/debug/machines/1234", patterns)).toBe(true);
    for (const path of ["/metrics/", "/metricsz", "/debug/machines", "/debug/machines/", "/debug/machines/a/b", "/ipxe"]) {
      expect(matchesPathPattern(path, patterns)).toBe(false);
    }
  });
});

describe("side listeners", () => {
  const main = { hostname: "0.0.0.0", port: 8082 };
  const always = () => true;
  test("one server per distinct address; same address as the boot listener: none (it serves everything)", () => {
    const plan = planSideListeners(main, [
      { name: "health probes", address: { hostname: "0.0.0.0", port: 8081 }, allow: (path) => path === "/healthz" },
      { name: "metrics", address: { hostname: "0.0.0.0", port: 8081 }, allow: (path) => path === "/metrics" },
      { name: "image proxy", address: { hostname: "0.0.0.0", port: 8082 }, allow: always },
      { name: "unset", address: undefined, allow: always },
    ]);
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.onMain).toEqual(["image proxy"]);
    expect(plan.listeners.map((listener) => listener.names)).toEqual([["health probes", "metrics"]]);
    const shared = plan.listeners[0];
    expect([shared?.allow("/healthz"), shared?.allow("/metrics"), shared?.allow("/ipxe")]).toEqual([true, true, false]);
  });
  test("port 0 is never shared; TLS cannot share a plain listener", () => {
    const ephemeral = { hostname: "127.0.0.1", port: 0 };
    const plan = planSideListeners(ephemeral, [
      { name: "a", address: ephemeral, allow: always },
      { name: "b", address: ephemeral, allow: always },
    ]);
    expect(plan.ok && plan.listeners.length).toBe(2);
    const tls = { cert: "c", key: "k" };
    expect(planSideListeners(main, [{ name: "metrics", address: main, allow: always, tls }])).toMatchObject({ ok: false });
    const port = { hostname: "0.0.0.0", port: 8443 };
    expect(
      planSideListeners(main, [
        { name: "metrics", address: port, allow: always, tls },
        { name: "health probes", address: port, allow: always },
      ]),
    ).toMatchObject({ ok: false, reason: expect.stringContaining("only one of them uses TLS") });
  });
});

test("--help lists the Go flags apart, with their Go manager defaults", () => {
  const help = helpFor("serve", "s", "u");
  const goSection = help.slice(help.indexOf("Go operator flags"));
  expect(goSection).toContain("--health-probe-bind-address ADDR");
  expect(goSection).toContain('as the Go manager ":8081"');
  expect(goSection).toContain("--controllers LIST");
  expect(help.slice(0, help.indexOf("Go operator flags"))).not.toContain("--zap-log-level");
  expect(help).toContain("--listen, --boot-server-address, --ipxe-server-address ADDR");
});
