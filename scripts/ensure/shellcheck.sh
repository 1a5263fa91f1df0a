#!/usr/bin/env bash
# Provides `shellcheck` (Debian package `shellcheck`) for the lint step of scripts/test.sh (scripts/lint.sh).
# Installed with apt-get; when it is already installed this only checks that it runs, so a second run is instant.
# The package lists are refreshed only if the install fails (a fresh machine may have none or stale ones).
set -euo pipefail

if command -v shellcheck >/dev/null 2>&1 && shellcheck --version >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure/shellcheck: apt-get is required to install the Debian package 'shellcheck'" >&2
  exit 1
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_shellcheck() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
}

if ! install_shellcheck; then
  echo "ensure/shellcheck: install failed, refreshing the package lists once" >&2
  as_root apt-get update -qq
  install_shellcheck
fi
shellcheck --version >/dev/null
echo "ensure/shellcheck: $(shellcheck --version | sed -n 's/^version: //p') installed"
