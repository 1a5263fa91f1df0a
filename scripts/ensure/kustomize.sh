#!/usr/bin/env bash
# Provides kustomize for the packaging tests (test/packaging): overlays, components and patches that
# scripts/generate-manifests.ts does not implement are rendered by kustomize itself (test/harness/kustomize.ts).
# The machine image's kubectl has it built in (`kubectl kustomize`, kustomize v5); without a working kubectl,
# kustomize is compiled from the Go module proxy into
# ${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/kustomize-<version>/kustomize, which the harness prefers when present.
set -euo pipefail

kustomize_version="v5.7.1"
cache_root="${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}"
target_dir="$cache_root/kustomize-$kustomize_version"

if [[ -x "$target_dir/kustomize" ]] && "$target_dir/kustomize" version >/dev/null 2>&1; then
  echo "ensure/kustomize: $target_dir/kustomize"
  exit 0
fi
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  echo "ensure/kustomize: kubectl kustomize ($(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p'))"
  exit 0
fi

if command -v go >/dev/null 2>&1; then
  go_bin="$(command -v go)"
elif [[ -x /usr/local/go/bin/go ]]; then
  go_bin=/usr/local/go/bin/go
else
  echo "ensure/kustomize: neither kubectl nor Go (to build kustomize $kustomize_version) was found" >&2
  exit 1
fi
mkdir -p "$cache_root"
exec 9>"$cache_root/.kustomize.lock"
flock 9
staging_dir="$(mktemp -d "$cache_root/.kustomize-build-XXXXXX")"
trap 'rm -rf "$staging_dir"' EXIT
echo "ensure/kustomize: building kustomize $kustomize_version with $("$go_bin" version)"
CGO_ENABLED=0 GOBIN="$staging_dir" GOFLAGS="-trimpath -buildvcs=false" "$go_bin" install -ldflags="-s -w" \
  "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version"
"$staging_dir/kustomize" version
mkdir -p "$target_dir"
mv -f "$staging_dir/kustomize" "$target_dir/kustomize"
echo "ensure/kustomize: $target_dir/kustomize"
