#!/usr/bin/env bash
# Provides `helm` for the chart tests (test/unit/helm-chart.test.ts, test/kube/helm-chart.test.ts): helm lint,
# helm template, and the rendered chart compared with the kustomize install.
#
# Debian has no helm package, so it is compiled from the Go module proxy at the version pinned here.
# Result: ${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/helm-<version>/helm
# Idempotent: a stamp (version + the Kubernetes version stamped in) makes a second run return at once.
# Measured on 2 cores with Go 1.26.8, shared with other builds: 442 s from an empty module cache (mostly downloads;
# 3 CPU-minutes), a few seconds to relink from a warm GOCACHE. The binary is ~60 MB.
set -euo pipefail
# shellcheck source=scripts/ensure/lib/go.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go.sh"

helm_version="v3.22.0"
# The Kubernetes version helm assumes without a cluster (helm template, helm lint): its release build stamps the
# one of its client-go (v0.37 -> 1.37); `go install` alone would leave 1.20, older than the chart's kubeVersion.
kube_major="1"
kube_minor="37"
cache_root="${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}"
target_dir="$cache_root/helm-$helm_version"
helm_bin="$target_dir/helm"
stamp_file="$target_dir/.stamp"
stamp="$helm_version kube $kube_major.$kube_minor"

is_up_to_date() {
  [[ -x "$helm_bin" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]] &&
    "$helm_bin" version --template '{{.Version}}' 2>/dev/null | grep -qx "$helm_version"
}

main() {
  if is_up_to_date; then
    echo "ensure/helm: helm $helm_version at $helm_bin"
    exit 0
  fi
  mkdir -p "$cache_root"
  # Serialise concurrent runs so only one builds.
  exec 9>"$cache_root/.helm.lock"
  flock 9
  if is_up_to_date; then
    echo "ensure/helm: helm $helm_version at $helm_bin"
    exit 0
  fi

  go_bin="$(find_go "ensure/helm: Go is required to build helm $helm_version, but no 'go' was found (PATH, /usr/local/go/bin)")"
  started_at=$SECONDS
  staging_dir="$(mktemp -d "$cache_root/.helm-build-XXXXXX")"
  trap 'rm -rf "$staging_dir"' EXIT
  echo "ensure/helm: building helm $helm_version with $("$go_bin" version)"
  # The ldflags of helm's own Makefile: its version, and the default Kubernetes version of template and lint.
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
  for package in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $package.k8sVersionMajor=$kube_major -X $package.k8sVersionMinor=$kube_minor"
  done
  CGO_ENABLED=0 GOBIN="$staging_dir" GOFLAGS="-trimpath -buildvcs=false" \
    "$go_bin" install -ldflags="$ldflags" "helm.sh/helm/v3/cmd/helm@$helm_version"
  "$staging_dir/helm" version --short
  mkdir -p "$target_dir"
  mv -f "$staging_dir/helm" "$helm_bin"
  echo "$stamp" >"$stamp_file"
  echo "ensure/helm: built in $((SECONDS - started_at)) s: $helm_bin"
}

main "$@"
