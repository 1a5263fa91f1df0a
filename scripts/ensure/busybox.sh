#!/usr/bin/env bash
# Provides `busybox` (Debian package `busybox-static`, the one the e2e initrd needs too: installing `busybox` here would swap them back and forth) for the switch ZTP tests (test/integration/ztp*.test.ts: ONIE's busybox wget, SONiC's curl).
# Installed with apt-get by scripts/ensure/lib/apt.sh: instant when the check already passes, lists refreshed once on failure.
set -euo pipefail

# shellcheck source=scripts/ensure/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

ensure_debian_packages busybox busybox wget --help -- busybox-static
echo "ensure/busybox: $(busybox | head -n 1) installed"
