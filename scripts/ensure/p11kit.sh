#!/usr/bin/env bash
# Provides `p11-kit` (Debian package `p11-kit`) for the oracle of /certs/edk2-cacerts (test/integration/tls.test.ts compares our EFI_SIGNATURE_LIST byte for byte with `p11-kit extract --format=edk2-cacerts`).
# Installed with apt-get by scripts/ensure/lib/apt.sh: instant when the check already passes, lists refreshed once on failure.
set -euo pipefail

# shellcheck source=scripts/ensure/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

ensure_debian_packages p11kit command -v p11-kit -- p11-kit
echo "ensure/p11kit: p11-kit (Debian package p11-kit) installed"
