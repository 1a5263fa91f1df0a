#!/usr/bin/env bash
# Provides `shellcheck` (Debian package `shellcheck`) for the lint step of scripts/test.sh (scripts/lint.sh).
# Installed with apt-get by scripts/ensure/lib/apt.sh: instant when the check already passes, lists refreshed once on failure.
set -euo pipefail

# shellcheck source=scripts/ensure/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

ensure_debian_packages shellcheck shellcheck --version -- shellcheck
echo "ensure/shellcheck: $(shellcheck --version | sed -n 's/^version: //p') installed"
