#!/usr/bin/env bash
# Builds the real Kubernetes control plane used by kube-mode integration tests
# (test/harness/controlplane.ts): kube-apiserver, kube-controller-manager and etcd.
#
# None of them ships as a Debian or npm package here, so they are compiled from the
# Go module proxy at the versions pinned in scripts/controlplane/go.mod (Kubernetes)
# and scripts/controlplane/etcd/go.mod (etcd, the release Kubernetes' client uses).
# etcd is built too rather than taken from Debian: bookworm's etcd-server is 3.4.23,
# which kube-apiserver still talks to but for which it switches off watch progress
# requests (k8s.io/apiserver/pkg/storage/feature: needs >= 3.4.31 / 3.5.13 because of
# etcd watch bugs), i.e. not the storage behaviour of a real cluster. Building etcd
# costs ~20 s extra since it shares most dependencies with Kubernetes.
#
# Result: ${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/controlplane/<k8s-version>/
#         {kube-apiserver,kube-controller-manager,etcd}
# Idempotent: a stamp (hash of the pinning go.mod/go.sum files) makes a second run
# return at once. Measured on 2 cores with Go 1.26.8: from nothing (empty GOMODCACHE and
# GOCACHE) 622 s, of which ~4 min are module downloads; with modules already downloaded
# 362 s. The GOCACHE it leaves behind is ~3.7 GB; rebuilding from a warm GOCACHE is quick.
# Needs: Go >= 1.26 (PATH or /usr/local/go/bin) and openssl (installed via apt if missing,
# the harness uses it to generate per-run certificates).
set -euo pipefail
# shellcheck source=scripts/ensure/lib/go.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go.sh"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pins_dir="$repo_root/scripts/controlplane"
etcd_pins_dir="$pins_dir/etcd"

# The pinned versions live in the go.mod files only, so they cannot drift apart.
pinned_version() { # go.mod module -> version, from a `require` line or block
  awk -v module="$2" '$1=="require" {$1=""; $0=$0} $1==module {print $2; exit}' "$1"
}
kubernetes_version="$(pinned_version "$pins_dir/go.mod" k8s.io/kubernetes)"
etcd_version="$(pinned_version "$etcd_pins_dir/go.mod" go.etcd.io/etcd/server/v3)"
if [[ -z "$kubernetes_version" || -z "$etcd_version" ]]; then
  echo "controlplane: cannot read pinned versions from $pins_dir/go.mod and $etcd_pins_dir/go.mod" >&2
  exit 1
fi

cache_root="${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/controlplane"
target_dir="$cache_root/$kubernetes_version"
stamp_file="$target_dir/.stamp"
binaries=(kube-apiserver kube-controller-manager etcd)

pins_digest() { # comment-only edits of the go.mod files do not trigger a rebuild
  cat "$pins_dir/go.mod" "$pins_dir/go.sum" "$etcd_pins_dir/go.mod" "$etcd_pins_dir/go.sum" |
    grep -v '^[[:space:]]*//' | sha256sum | cut -d' ' -f1
}

is_up_to_date() {
  [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$(pins_digest)" ]] || return 1
  local binary
  for binary in "${binaries[@]}"; do
    [[ -x "$target_dir/$binary" ]] || return 1
  done
}

print_locations() {
  echo "controlplane: Kubernetes $kubernetes_version, etcd $etcd_version in $target_dir"
  local binary
  for binary in "${binaries[@]}"; do
    echo "  $binary: $target_dir/$binary"
  done
}

ensure_openssl() {
  command -v openssl >/dev/null 2>&1 && return 0
  echo "controlplane: installing openssl (certificates for the test control plane)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
  fi
}

main() {
  ensure_openssl

  if is_up_to_date; then
    print_locations
    exit 0
  fi

  mkdir -p "$cache_root"
  # Serialise concurrent runs (e.g. two test processes) so only one builds.
  exec 9>"$cache_root/.lock"
  flock 9
  if is_up_to_date; then
    print_locations
    exit 0
  fi

  go_bin="$(find_go "controlplane: Go >= 1.26 is required to build kube-apiserver/etcd, but no 'go' was found" "  (looked in PATH and /usr/local/go/bin; Debian's golang-go is too old)")"
  export CGO_ENABLED=0         # static binaries, no C compiler needed
  export GOFLAGS="-trimpath -buildvcs=false"

  echo "controlplane: building Kubernetes $kubernetes_version and etcd $etcd_version with $("$go_bin" version) (from scratch: ~10 min on 2 cores)"
  started_at=$SECONDS
  staging_dir="$(mktemp -d "$cache_root/.build-XXXXXX")"
  trap 'rm -rf "$staging_dir"' EXIT

  # Same version strings the upstream release build stamps in (hack/lib/version.sh),
  # so /version and `--version` report the real release instead of v0.0.0-master.
  build_date="$(cd "$pins_dir" && "$go_bin" list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
  version_core="${kubernetes_version#v}"
  major="${version_core%%.*}"
  minor_and_patch="${version_core#*.}"
  minor="${minor_and_patch%%.*}"
  version_ldflags=""
  for package in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    version_ldflags+=" -X $package.gitVersion=$kubernetes_version -X $package.gitMajor=$major"
    version_ldflags+=" -X $package.gitMinor=$minor -X $package.buildDate=$build_date -X $package.gitTreeState=clean"
  done

  # One `go build` for both Kubernetes commands: they share most packages.
  (cd "$pins_dir" && "$go_bin" build -ldflags="-s -w$version_ldflags" -o "$staging_dir/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
  echo "controlplane: Kubernetes built after $((SECONDS - started_at)) s"
  (cd "$etcd_pins_dir" && "$go_bin" build -ldflags="-s -w" -o "$staging_dir/etcd" go.etcd.io/etcd/server/v3)

  # Fail here, not in a test, if a binary does not run at all.
  "$staging_dir/kube-apiserver" --version
  "$staging_dir/kube-controller-manager" --version
  "$staging_dir/etcd" --version

  mkdir -p "$target_dir"
  for binary in "${binaries[@]}"; do
    mv -f "$staging_dir/$binary" "$target_dir/$binary"
  done
  pins_digest >"$stamp_file"
  echo "controlplane: built in $((SECONDS - started_at)) s"
  print_locations
}

# Everything runs from main: bash has parsed the whole file before the long build starts,
# so editing this script meanwhile cannot derail a running build.
main "$@"
