#!/usr/bin/env bash
# Provides what test/integration/systemd.test.ts runs: systemd-analyze (Debian package `systemd`: verify, security,
# syscall-filter; no running systemd needed), strace (the binary's system calls) and unshare (util-linux: the /proc
# of ProtectProc=invisible + ProcSubset=pid). Installed with apt-get; when present this only checks that they run.
# The package lists are refreshed only if the install fails (a fresh machine may have none or stale ones).
set -euo pipefail

packages=(systemd strace util-linux)

all_present() {
  systemd-analyze --version >/dev/null 2>&1 && strace -V >/dev/null 2>&1 && unshare --version >/dev/null 2>&1
}

if all_present; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure/systemd-tools: apt-get is required to install the Debian packages ${packages[*]}" >&2
  exit 1
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}

if ! install_packages; then
  echo "ensure/systemd-tools: install failed, refreshing the package lists once" >&2
  as_root apt-get update -qq
  install_packages
fi
all_present
echo "ensure/systemd-tools: $(systemd-analyze --version | head -n1), $(strace -V | head -n1)"
