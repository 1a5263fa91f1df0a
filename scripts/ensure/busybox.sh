#!/usr/bin/env bash
# Provides `busybox` (Debian package `busybox-static`, the one the e2e initrd needs too: installing `busybox` here would swap them back and forth) for the switch ZTP tests (test/integration/ztp*.test.ts: ONIE's busybox wget, SONiC's curl).
# Installed with apt-get; when it is already installed this only checks that it runs, so a second run is instant.
# The package lists are refreshed only if the install fails (a fresh machine may have none or stale ones).
set -euo pipefail

if command -v busybox >/dev/null 2>&1 && busybox wget --help >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure/busybox: apt-get is required to install the Debian package 'busybox-static'" >&2
  exit 1
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_busybox() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null
}

if ! install_busybox; then
  echo "ensure/busybox: install failed, refreshing the package lists once" >&2
  as_root apt-get update -qq
  install_busybox
fi
busybox wget --help >/dev/null 2>&1
echo "ensure/busybox: $(busybox | head -n 1) installed"
