#!/usr/bin/env bash
# Provides `curl` (Debian package `curl`) for the switch ZTP tests (SONiC asks with curl) and the HTTPS e2e test
# (test/e2e/https-boot.test.ts: Ignition asked from another loopback source address, `curl --interface 127.0.0.7`).
# Installed with apt-get; when it is already installed this only checks that it runs, so a second run is instant.
# The package lists are refreshed only if the install fails (a fresh machine may have none or stale ones).
set -euo pipefail

if command -v curl >/dev/null 2>&1 && curl --version >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure/curl: apt-get is required to install the Debian package 'curl'" >&2
  exit 1
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_curl() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl >/dev/null
}

if ! install_curl; then
  echo "ensure/curl: install failed, refreshing the package lists once" >&2
  as_root apt-get update -qq
  install_curl
fi
curl --version >/dev/null 2>&1
echo "ensure/curl: $(curl --version | head -n 1) installed"
