#!/usr/bin/env bash
# Provides `promtool` (Debian package `prometheus`, which ships it) for the monitoring tests: `promtool check rules`
# and `promtool test rules` on manifests/components/servicemonitor (test/integration/monitoring.test.ts).
# Installed with apt-get by scripts/ensure/lib/apt.sh: instant when the check already passes, lists refreshed once on failure.
set -euo pipefail

# shellcheck source=scripts/ensure/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

ensure_debian_packages promtool promtool --version -- prometheus
echo "ensure/promtool: $(promtool --version 2>&1 | sed -n 's/^promtool, version \([^ ]*\).*/\1/p') installed"
