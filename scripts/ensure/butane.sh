#!/usr/bin/env bash
# Builds the real Butane, for the differential test (test/oracle/butane-differential.test.ts): the `butane`
# command itself and `butane-oracle` (scripts/butane-oracle/main.go), which calls Butane's TranslateBytes
# exactly as the Go boot-operator does (Raw, NoResourceAutoCompression, no files directory).
# Butane ships no Debian or npm package here, so both are compiled from the Go module proxy at the version
# pinned in scripts/butane-oracle/go.mod (github.com/coreos/butane v0.28.0, the Go operator's pin).
#
# Result: ${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/butane/<version>/{butane,butane-oracle}
# Idempotent: a stamp (hash of the oracle's go.mod/go.sum/main.go) makes a second run return at once.
# From nothing (empty module and build caches) it takes ~2 min on 2 cores (module downloads and the first
# compile); afterwards ~0.03 s.
# Needs: Go >= 1.25 (PATH or /usr/local/go/bin).
set -euo pipefail
# shellcheck source=scripts/ensure/lib/go.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go.sh"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pins_dir="$repo_root/scripts/butane-oracle"

# The pinned version lives in go.mod only, so the directory name cannot drift from what is built.
butane_version="$(awk '$1=="require" {$1=""; $0=$0} $1=="github.com/coreos/butane" {print $2; exit}' "$pins_dir/go.mod")"
if [[ -z "$butane_version" ]]; then
  echo "ensure/butane: cannot read the pinned github.com/coreos/butane version from $pins_dir/go.mod" >&2
  exit 1
fi

cache_root="${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/butane"
target_dir="$cache_root/$butane_version"
stamp_file="$target_dir/.stamp"

pins_digest() {
  cat "$pins_dir/go.mod" "$pins_dir/go.sum" "$pins_dir/main.go" | sha256sum | cut -d' ' -f1
}

is_up_to_date() {
  [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$(pins_digest)" ]] || return 1
  [[ -x "$target_dir/butane" && -x "$target_dir/butane-oracle" ]] || return 1
}

print_locations() {
  echo "ensure/butane: Butane $butane_version in $target_dir (butane, butane-oracle)"
}

main() {
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

  go_bin="$(find_go "ensure/butane: Go >= 1.25 is required to build Butane, but no 'go' was found (PATH, /usr/local/go/bin)")"
  # Works as root on a fresh machine too: module and build caches under $HOME unless already set, module
  # downloads verified against go.sum only (-mod=readonly: a missing sum fails instead of editing go.mod).
  export GOPATH="${GOPATH:-$HOME/go}"
  export CGO_ENABLED=0
  export GOFLAGS="-trimpath -buildvcs=false -mod=readonly"

  started_at=$SECONDS
  staging_dir="$(mktemp -d "$cache_root/.build-XXXXXX")"
  trap 'rm -rf "$staging_dir"' EXIT
  echo "ensure/butane: building Butane $butane_version with $("$go_bin" version)"
  (cd "$pins_dir" && "$go_bin" build -ldflags="-s -w" -o "$staging_dir/butane-oracle" .)
  # The CLI's version string as Butane's own release build stamps it.
  (cd "$pins_dir" && "$go_bin" build -ldflags="-s -w -X github.com/coreos/butane/internal/version.Raw=$butane_version" \
    -o "$staging_dir/butane" github.com/coreos/butane/internal)

  # Fail here, not in a test, if a binary does not run at all.
  "$staging_dir/butane" --version
  printf 'variant: fcos\nversion: 1.0.0\n' | "$staging_dir/butane-oracle" >/dev/null

  mkdir -p "$target_dir"
  mv -f "$staging_dir/butane" "$staging_dir/butane-oracle" "$target_dir/"
  pins_digest >"$stamp_file"
  echo "ensure/butane: built in $((SECONDS - started_at)) s"
  print_locations
}

main "$@"
