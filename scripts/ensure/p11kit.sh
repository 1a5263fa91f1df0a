#!/usr/bin/env bash
# Provides `p11-kit` (Debian package `p11-kit`) for the oracle of /certs/edk2-cacerts (test/integration/tls.test.ts compares our EFI_SIGNATURE_LIST byte for byte with `p11-kit extract --format=edk2-cacerts`).
# Installed with apt-get; when it is already installed this only checks that it runs, so a second run is instant.
# The package lists are refreshed only if the install fails (a fresh machine may have none or stale ones).
set -euo pipefail

if command -v p11-kit >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure/p11kit: apt-get is required to install the Debian package 'p11-kit'" >&2
  exit 1
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_package() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends p11-kit >/dev/null
}

if ! install_package; then
  echo "ensure/p11kit: install failed, refreshing the package lists once" >&2
  as_root apt-get update -qq
  install_package
fi
command -v p11-kit >/dev/null
echo "ensure/p11kit: p11-kit (Debian package p11-kit) installed"
