// CRD files the kube tests install: ours (generated from the valibot schemas), the test-only metal-operator ones, and
// the Go operator's looser shape (for objects created before a migration).
import { join } from "node:path";
import { REPO_ROOT } from "./appliance.ts";

export const BOOT_CRD_PATHS = [join(REPO_ROOT, "manifests/crds/ipxebootconfigs.yaml"), join(REPO_ROOT, "manifests/crds/httpbootconfigs.yaml")];
/** SwitchBootConfig's CRD, kept apart: the server tests run without it, as a cluster installed before switches does. */
export const SWITCH_CRD_PATH = join(REPO_ROOT, "manifests/crds/switchbootconfigs.yaml");
export const METAL_CRD_PATHS = [
  join(REPO_ROOT, "test/crds/metal.ironcore.dev_servers.yaml"),
  join(REPO_ROOT, "test/crds/metal.ironcore.dev_serverbootconfigurations.yaml"),
];
/** The Go operator's looser CRD shape (test/crds/*.go-operator.yaml): objects a migrated cluster already holds. */
export const GO_OPERATOR_CRD_PATHS = [
  join(REPO_ROOT, "test/crds/boot.ironcore.dev_ipxebootconfigs.go-operator.yaml"),
  join(REPO_ROOT, "test/crds/boot.ironcore.dev_httpbootconfigs.go-operator.yaml"),
];
