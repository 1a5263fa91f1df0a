// Every REST path and every API-error classification the appliance uses.
import { describe, expect, test } from "bun:test";
import { isAlreadyExists, isConflict, isGone, isNotFound, KubeApiError } from "../../src/kube/client.ts";
import {
  apiVersionOf,
  cacheKeyOf,
  EVENTS,
  HTTP_BOOT_CONFIGS,
  IPXE_BOOT_CONFIGS,
  LEASES,
  parseCacheKey,
  resourcePath,
  SECRETS,
  SERVER_BOOT_CONFIGURATIONS,
  SERVERS,
} from "../../src/kube/paths.ts";

describe("resourcePath", () => {
  test("core group under /api, named groups under /apis", () => {
    expect(resourcePath({ ...SECRETS, namespace: "ns", name: "pull" })).toBe("/api/v1/namespaces/ns/secrets/pull");
    expect(resourcePath({ ...EVENTS, namespace: "ns" })).toBe("/api/v1/namespaces/ns/events");
    expect(resourcePath({ ...LEASES, namespace: "kube-system", name: "boot-operator-leader" })).toBe(
      "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/boot-operator-leader",
    );
  });

  test("collections across all namespaces, cluster-scoped collections and objects", () => {
    expect(resourcePath(IPXE_BOOT_CONFIGS)).toBe("/apis/boot.ironcore.dev/v1alpha1/ipxebootconfigs");
    expect(resourcePath({ ...HTTP_BOOT_CONFIGS, namespace: "" })).toBe("/apis/boot.ironcore.dev/v1alpha1/httpbootconfigs");
    expect(resourcePath({ ...SECRETS, namespace: "" })).toBe("/api/v1/secrets");
    expect(resourcePath(SERVERS)).toBe("/apis/metal.ironcore.dev/v1alpha1/servers");
    expect(resourcePath({ ...SERVERS, name: "srv-1" })).toBe("/apis/metal.ironcore.dev/v1alpha1/servers/srv-1");
  });

  test("subresources and escaping", () => {
    expect(resourcePath({ ...SERVER_BOOT_CONFIGURATIONS, namespace: "metal", name: "sbc", subresource: "status" })).toBe(
      "/apis/metal.ironcore.dev/v1alpha1/namespaces/metal/serverbootconfigurations/sbc/status",
    );
    expect(resourcePath({ ...IPXE_BOOT_CONFIGS, namespace: "a b", name: "x/y" })).toBe(
      "/apis/boot.ironcore.dev/v1alpha1/namespaces/a%20b/ipxebootconfigs/x%2Fy",
    );
  });

  test("refuses paths that cannot be meant", () => {
    expect(() => resourcePath({ ...SECRETS, namespace: "ns", subresource: "status" })).toThrow(/needs a name/);
    expect(() => resourcePath({ ...SECRETS, namespace: "ns", name: "" })).toThrow(/empty name/);
    expect(() => resourcePath({ group: "", version: "v1", resource: "" })).toThrow(/required/);
  });

  test("apiVersion of each descriptor", () => {
    expect(apiVersionOf(SECRETS)).toBe("v1");
    expect(apiVersionOf(IPXE_BOOT_CONFIGS)).toBe("boot.ironcore.dev/v1alpha1");
    expect(apiVersionOf(SERVER_BOOT_CONFIGURATIONS)).toBe("metal.ironcore.dev/v1alpha1");
    expect(apiVersionOf(LEASES)).toBe("coordination.k8s.io/v1");
  });

  test("cache keys round-trip, namespaced and cluster-scoped", () => {
    expect(cacheKeyOf({ namespace: "ns", name: "a" })).toBe("ns/a");
    expect(cacheKeyOf({ namespace: "", name: "srv" })).toBe("srv");
    expect(parseCacheKey("ns/a")).toEqual({ namespace: "ns", name: "a" });
    expect(parseCacheKey("srv")).toEqual({ namespace: "", name: "srv" });
  });
});

describe("KubeApiError classification", () => {
  const error = (status: number, reason: string) => new KubeApiError(status, reason, `${status} ${reason}`);

  test("by the Status reason when the API server gave one", () => {
    expect(isNotFound(error(404, "NotFound"))).toBe(true);
    expect(isConflict(error(409, "Conflict"))).toBe(true);
    expect(isAlreadyExists(error(409, "AlreadyExists"))).toBe(true);
    // Both are 409, but they mean different things.
    expect(isConflict(error(409, "AlreadyExists"))).toBe(false);
    expect(isAlreadyExists(error(409, "Conflict"))).toBe(false);
    expect(isGone(error(410, "Gone"))).toBe(true);
    expect(isGone(error(410, "Expired"))).toBe(true);
    expect(error(404, "NotFound").isNotFound()).toBe(true);
  });

  test("by HTTP status when the reason is not a Kubernetes one (a proxy's status text, a watch ERROR without reason)", () => {
    expect(isNotFound(error(404, "Not Found"))).toBe(true);
    expect(isConflict(error(409, "Conflict!"))).toBe(true);
    expect(isGone(error(410, "Error"))).toBe(true);
  });

  test("nothing else matches", () => {
    expect(isNotFound(error(403, "Forbidden"))).toBe(false);
    expect(isNotFound(error(0, "Timeout"))).toBe(false);
    expect(isGone(error(500, "InternalError"))).toBe(false);
    expect(isNotFound(new Error("GET /x: 404 not found"))).toBe(false);
    expect(isNotFound(undefined)).toBe(false);
  });
});
