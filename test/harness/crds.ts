// CRD files the kube tests install: ours (generated from the valibot schemas) and the test-only metal-operator ones.
import { join } from "node:path";
import { REPO_ROOT } from "./appliance.ts";

export const BOOT_CRD_PATHS = [join(REPO_ROOT, "manifests/crds/ipxebootconfigs.yaml"), join(REPO_ROOT, "manifests/crds/httpbootconfigs.yaml")];
export const METAL_CRD_PATHS = [
  join(REPO_ROOT, "test/crds/metal.ironcore.dev_servers.yaml"),
  join(REPO_ROOT, "test/crds/metal.ironcore.dev_serverbootconfigurations.yaml"),
];
