#!/usr/bin/env bash
# Provides the benchmark's load generator and reference server: `wrk` (with its LuaJIT library) and `nginx`, both
# from Debian. They are not part of the test command, so this lives beside scripts/ensure/, not in it.
# The .debs are extracted into a per-version cache directory (no system-wide install, no nginx service started);
# a second run only checks that the cached binaries still execute.
# Afterwards: ${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/bench/current/{wrk,nginx} (wrappers that set
# LD_LIBRARY_PATH for the extracted libraries) and .../current/versions.txt.
set -euo pipefail

CACHE_ROOT="${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/bench"
PACKAGES=(wrk libluajit-5.1-2 nginx)

cached_tools_work() {
  local dir="$1"
  [[ -x "$dir/wrk" && -x "$dir/nginx" ]] || return 1
  # `wrk --version` prints its banner and exits 1.
  local banner
  banner="$("$dir/wrk" --version 2>&1 || true)"
  [[ "$banner" == wrk\ * ]] && "$dir/nginx" -v >/dev/null 2>&1
}

if [[ -L "$CACHE_ROOT/current" ]] && cached_tools_work "$CACHE_ROOT/current"; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-bench: apt-get is required to fetch the Debian packages ${PACKAGES[*]}" >&2
  exit 1
fi

candidate_version() {
  apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }'
}

# The package lists may be missing on a fresh machine: refresh once if a package has no candidate.
for package in "${PACKAGES[@]}"; do
  version="$(candidate_version "$package")"
  if [[ -z "$version" || "$version" == "(none)" ]]; then
    apt-get update -qq
    break
  fi
done

key=""
pinned=()
for package in "${PACKAGES[@]}"; do
  version="$(candidate_version "$package")"
  if [[ -z "$version" || "$version" == "(none)" ]]; then
    echo "ensure-bench: Debian package $package is not available from apt" >&2
    exit 1
  fi
  pinned+=("$package=$version")
  key+="${key:+_}$package-$version"
done
VERSION_DIR="$CACHE_ROOT/${key//[^A-Za-z0-9._+-]/_}"

if ! cached_tools_work "$VERSION_DIR"; then
  work_dir="$(mktemp -d)"
  trap 'rm -rf "$work_dir"' EXIT
  # apt-get download drops privileges to the _apt user; give it a directory it can write to.
  chmod 0777 "$work_dir"
  (cd "$work_dir" && apt-get download -qq "${pinned[@]}")
  for deb in "$work_dir"/*.deb; do dpkg-deb -x "$deb" "$work_dir/root"; done

  rm -rf "$VERSION_DIR.tmp"
  mkdir -p "$VERSION_DIR.tmp/bin" "$VERSION_DIR.tmp/lib"
  install -m 0755 "$work_dir/root/usr/bin/wrk" "$VERSION_DIR.tmp/bin/wrk"
  install -m 0755 "$work_dir/root/usr/sbin/nginx" "$VERSION_DIR.tmp/bin/nginx"
  cp -a "$work_dir"/root/usr/lib/x86_64-linux-gnu/libluajit-5.1.so* "$VERSION_DIR.tmp/lib/"
  for tool in wrk nginx; do
    cat >"$VERSION_DIR.tmp/$tool" <<EOF
#!/bin/sh
# Runs the $tool extracted from Debian's package with its bundled libraries.
here="\$(dirname "\$(readlink -f "\$0")")"
LD_LIBRARY_PATH="\$here/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "\$here/bin/$tool" "\$@"
EOF
    chmod 0755 "$VERSION_DIR.tmp/$tool"
  done
  printf '%s\n' "${pinned[@]}" >"$VERSION_DIR.tmp/versions.txt"
  rm -rf "$VERSION_DIR"
  mv "$VERSION_DIR.tmp" "$VERSION_DIR"
  if ! cached_tools_work "$VERSION_DIR"; then
    echo "ensure-bench: extracted tools in $VERSION_DIR do not run:" >&2
    "$VERSION_DIR/wrk" --version >&2 || true
    "$VERSION_DIR/nginx" -v >&2 || true
    exit 1
  fi
  echo "ensure-bench: cached ${pinned[*]} in $VERSION_DIR"
fi
ln -sfn "$VERSION_DIR" "$CACHE_ROOT/current"
