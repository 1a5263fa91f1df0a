#!/usr/bin/env bash
# Provides `curl` (Debian package `curl`) for the switch ZTP tests (SONiC asks with curl) and the HTTPS e2e test
# (test/e2e/https-boot.test.ts: Ignition asked from another loopback source address, `curl --interface 127.0.0.7`).
# Installed with apt-get by scripts/ensure/lib/apt.sh: instant when the check already passes, lists refreshed once on failure.
set -euo pipefail

# shellcheck source=scripts/ensure/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

ensure_debian_packages curl curl --version -- curl
echo "ensure/curl: $(curl --version | head -n 1) installed"
