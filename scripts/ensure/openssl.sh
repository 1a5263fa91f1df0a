#!/usr/bin/env bash
# Provides `openssl` (Debian package `openssl`) for the test PKI (test/harness/pki.ts makes a root, an intermediate and leaves for 127.0.0.1) and `openssl s_client`.
# Installed with apt-get by scripts/ensure/lib/apt.sh: instant when the check already passes, lists refreshed once on failure.
set -euo pipefail

# shellcheck source=scripts/ensure/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

ensure_debian_packages openssl command -v openssl -- openssl
echo "ensure/openssl: $(openssl version) installed"
