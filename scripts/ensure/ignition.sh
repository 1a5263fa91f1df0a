#!/usr/bin/env bash
# Provides `ignition-validate` (Debian package `ignition`, Ignition 2.14) for the Butane oracle tests.
# The binary is extracted from the .deb into a per-version cache directory, so no system-wide install is
# needed and a second run only checks that the cached binary still executes.
# Afterwards: ${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/ignition/current/ignition-validate
set -euo pipefail

IGNITION_DEB_VERSION="${IGNITION_DEB_VERSION:-2.14.0+ds1-1+b6}"
CACHE_ROOT="${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/ignition"
VERSION_DIR="$CACHE_ROOT/$IGNITION_DEB_VERSION"
BINARY="$VERSION_DIR/ignition-validate"

if [[ -x "$BINARY" ]] && "$BINARY" --version >/dev/null 2>&1; then
  ln -sfn "$VERSION_DIR" "$CACHE_ROOT/current"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure/ignition: apt-get is required to fetch the Debian package 'ignition'" >&2
  exit 1
fi

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

# The package lists may be missing or stale on a fresh machine: refresh once if the pinned version is unknown.
if ! apt-cache show "ignition=$IGNITION_DEB_VERSION" >/dev/null 2>&1; then
  apt-get update -qq
fi
if ! apt-cache show "ignition=$IGNITION_DEB_VERSION" >/dev/null 2>&1; then
  echo "ensure/ignition: Debian package ignition=$IGNITION_DEB_VERSION is not available from apt" >&2
  exit 1
fi

# apt-get download drops privileges to the _apt user; give it a directory it can write to.
chmod 0777 "$work_dir"
(cd "$work_dir" && apt-get download -qq "ignition=$IGNITION_DEB_VERSION")
deb_file="$(find "$work_dir" -maxdepth 1 -name 'ignition_*.deb' | head -n 1)"
if [[ -z "$deb_file" ]]; then
  echo "ensure/ignition: apt-get download produced no .deb" >&2
  exit 1
fi
dpkg-deb -x "$deb_file" "$work_dir/root"

mkdir -p "$VERSION_DIR"
install -m 0755 "$work_dir/root/usr/bin/ignition-validate" "$BINARY.tmp"
mv -f "$BINARY.tmp" "$BINARY"
"$BINARY" --version >/dev/null
ln -sfn "$VERSION_DIR" "$CACHE_ROOT/current"
echo "ensure/ignition: ignition-validate $IGNITION_DEB_VERSION cached at $BINARY"
