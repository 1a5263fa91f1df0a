#!/usr/bin/env bash
# Provides what test/oci/image.test.ts runs: buildah (builds the Dockerfile without a Docker daemon: chroot
# isolation, vfs storage), skopeo (pulls the pushed image back as an OCI layout) and busybox (Debian's is static:
# the shell of the test's local base image).
# Installed with apt-get by scripts/ensure/lib/apt.sh: instant when the check already passes, lists refreshed once on failure.
set -euo pipefail

# shellcheck source=scripts/ensure/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

all_present() {
  buildah --version >/dev/null 2>&1 && skopeo --version >/dev/null 2>&1 && busybox true >/dev/null 2>&1
}

ensure_debian_packages image-tools all_present -- buildah skopeo busybox-static
echo "ensure/image-tools: $(buildah --version), $(skopeo --version)"
