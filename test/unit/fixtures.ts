// Builders for resources in unit tests: the smallest valid object, with overrides.
import type { HTTPBootConfig, IPXEBootConfig, Secret, SwitchBootConfig } from "../../src/api/index.ts";

export function ipxeConfig(name: string, spec: Partial<IPXEBootConfig["spec"]> = {}, metadata: Partial<IPXEBootConfig["metadata"]> = {}): IPXEBootConfig {
  return {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "IPXEBootConfig",
    metadata: { name, namespace: "default", ...metadata },
    spec: { kernelURL: "http://files.example/vmlinuz", initrdURL: "http://files.example/initrd", ...spec },
  };
}

export function httpConfig(name: string, spec: Partial<HTTPBootConfig["spec"]> = {}, metadata: Partial<HTTPBootConfig["metadata"]> = {}): HTTPBootConfig {
  return {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "HTTPBootConfig",
    metadata: { name, namespace: "default", ...metadata },
    spec: { ...spec },
  };
}

export function secret(name: string, stringData: Record<string, string>, namespace = "default"): Secret {
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace }, stringData };
}

export function switchConfig(
  name: string,
  spec: Partial<SwitchBootConfig["spec"]> = {},
  metadata: Partial<SwitchBootConfig["metadata"]> = {},
): SwitchBootConfig {
  return {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "SwitchBootConfig",
    metadata: { name, namespace: "default", ...metadata },
    spec: { provisioningScriptSecretRef: { name: `${name}-ztp` }, ...spec },
  };
}
