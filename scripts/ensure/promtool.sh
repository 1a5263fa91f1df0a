#!/usr/bin/env bash
# Provides `promtool` (Debian package `prometheus`, which ships it) for the monitoring tests: `promtool check rules`
# and `promtool test rules` on manifests/components/servicemonitor (test/integration/monitoring.test.ts).
# Installed with apt-get; when it is already installed this only checks that it runs, so a second run is instant.
# The package lists are refreshed only if the install fails (a fresh machine may have none or stale ones).
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && promtool --version >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure/promtool: apt-get is required to install the Debian package 'prometheus' (it ships promtool)" >&2
  exit 1
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_prometheus() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
}

if ! install_prometheus; then
  echo "ensure/promtool: install failed, refreshing the package lists once" >&2
  as_root apt-get update -qq
  install_prometheus
fi
promtool --version >/dev/null
echo "ensure/promtool: $(promtool --version 2>&1 | sed -n 's/^promtool, version \([^ ]*\).*/\1/p') installed"
