#!/usr/bin/env bash
# Provides what test/oci/image.test.ts runs: buildah (builds the Dockerfile without a Docker daemon: chroot
# isolation, vfs storage), skopeo (pulls the pushed image back as an OCI layout) and busybox (Debian's is static:
# the shell of the test's local base image). Installed with apt-get; when present this only checks that they run.
# The package lists are refreshed only if the install fails (a fresh machine may have none or stale ones).
set -euo pipefail

packages=(buildah skopeo busybox-static)

all_present() {
  buildah --version >/dev/null 2>&1 && skopeo --version >/dev/null 2>&1 && busybox true >/dev/null 2>&1
}

if all_present; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure/image-tools: apt-get is required to install the Debian packages ${packages[*]}" >&2
  exit 1
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}

if ! install_packages; then
  echo "ensure/image-tools: install failed, refreshing the package lists once" >&2
  as_root apt-get update -qq
  install_packages
fi
all_present
echo "ensure/image-tools: $(buildah --version), $(skopeo --version)"
