#!/usr/bin/env bash
# Provides what test/integration/systemd.test.ts runs: systemd-analyze (Debian package `systemd`: verify, security,
# syscall-filter; no running systemd needed), strace (the binary's system calls) and unshare (util-linux: the /proc
# of ProtectProc=invisible + ProcSubset=pid).
# Installed with apt-get by scripts/ensure/lib/apt.sh: instant when the check already passes, lists refreshed once on failure.
set -euo pipefail

# shellcheck source=scripts/ensure/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

all_present() {
  systemd-analyze --version >/dev/null 2>&1 && strace -V >/dev/null 2>&1 && unshare --version >/dev/null 2>&1
}

ensure_debian_packages systemd-tools all_present -- systemd strace util-linux
echo "ensure/systemd-tools: $(systemd-analyze --version | head -n1), $(strace -V | head -n1)"
