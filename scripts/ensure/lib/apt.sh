# shellcheck shell=bash
# One body for the ensure scripts that provide a tool from Debian packages (sourced, not run: it lives outside the
# scripts/ensure/*.sh glob that scripts/test.sh runs). Installed with apt-get; when the check already passes this
# exits the calling script at once and silently, so a second run is instant. The package lists are refreshed only if
# the install fails (a fresh machine may have none or stale ones).

# Runs the command as root (directly when we are root, through sudo otherwise).
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# ensure_debian_packages <label> <check-command…> -- <packages…>
# Exits the script with 0 when <check-command…> succeeds; otherwise installs <packages…> and returns once the check
# passes (it exits 1 when apt-get is missing, the install fails twice or the check still fails afterwards).
ensure_debian_packages() {
  local label=$1
  shift
  local check=()
  while [[ $# -gt 0 && $1 != "--" ]]; do
    check+=("$1")
    shift
  done
  if [[ $# -eq 0 || ${#check[@]} -eq 0 ]]; then
    echo "ensure_debian_packages: usage: ensure_debian_packages <label> <check-command…> -- <packages…>" >&2
    exit 2
  fi
  shift
  local packages=("$@")
  if [[ ${#packages[@]} -eq 0 ]]; then
    echo "ensure/$label: ensure_debian_packages was given no packages" >&2
    exit 2
  fi

  if "${check[@]}" >/dev/null 2>&1; then
    exit 0
  fi

  local what="the Debian package '${packages[0]}'"
  if [[ ${#packages[@]} -gt 1 ]]; then
    what="the Debian packages ${packages[*]}"
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure/$label: apt-get is required to install $what" >&2
    exit 1
  fi

  if ! install_debian_packages "${packages[@]}"; then
    echo "ensure/$label: install failed, refreshing the package lists once" >&2
    as_root apt-get update -qq
    install_debian_packages "${packages[@]}" || exit 1
  fi
  if ! "${check[@]}" >/dev/null 2>&1; then
    echo "ensure/$label: installed $what, but the check still fails: ${check[*]}" >&2
    exit 1
  fi
}

install_debian_packages() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
