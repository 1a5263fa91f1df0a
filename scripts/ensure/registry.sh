#!/usr/bin/env bash
# Provides Debian's docker-registry (CNCF Distribution) for the OCI integration tests, plus openssl
# (the token-auth harness mode signs its JWTs with a self-signed certificate).
# The .deb is unpacked into the cache rather than installed: installing would register (and on
# machines with an init system, start) a system service on :5000 that the tests do not want.
set -euo pipefail

cache_root="${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/docker-registry"
current="$cache_root/current/usr/bin/docker-registry"

ensure_openssl() {
  command -v openssl >/dev/null 2>&1 && return 0
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
}

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
}

candidate_version() {
  apt-cache policy docker-registry 2>/dev/null | awk '/Candidate:/ { print $2 }'
}

ensure_openssl

if [ -x "$current" ] && "$current" --version >/dev/null 2>&1; then
  exit 0
fi

version="$(candidate_version)"
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  apt_update_once
  version="$(candidate_version)"
fi
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  echo "registry.sh: no docker-registry package available from apt" >&2
  exit 1
fi

target="$cache_root/$version"
if ! [ -x "$target/usr/bin/docker-registry" ]; then
  work="$(mktemp -d)"
  # apt-get download fetches as the unprivileged _apt user, which must be able to write here.
  if id _apt >/dev/null 2>&1; then chown _apt "$work"; fi
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq "docker-registry=$version" >/dev/null)
  mkdir -p "$work/root"
  dpkg-deb -x "$work"/docker-registry_*.deb "$work/root"
  mkdir -p "$cache_root"
  rm -rf "$target"
  mv "$work/root" "$target"
fi
ln -sfn "$version" "$cache_root/current"
"$current" --version >/dev/null
echo "registry.sh: docker-registry $version at $current"
