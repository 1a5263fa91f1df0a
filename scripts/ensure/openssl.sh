#!/usr/bin/env bash
# Provides `openssl` (Debian package `openssl`) for the test PKI (test/harness/pki.ts makes a root, an intermediate and leaves for 127.0.0.1) and `openssl s_client`.
# Installed with apt-get; when it is already installed this only checks that it runs, so a second run is instant.
# The package lists are refreshed only if the install fails (a fresh machine may have none or stale ones).
set -euo pipefail

if command -v openssl >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure/openssl: apt-get is required to install the Debian package 'openssl'" >&2
  exit 1
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_package() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null
}

if ! install_package; then
  echo "ensure/openssl: install failed, refreshing the package lists once" >&2
  as_root apt-get update -qq
  install_package
fi
command -v openssl >/dev/null
echo "ensure/openssl: $(openssl version) installed"
