# shellcheck shell=bash
# The Go toolchain for the ensure scripts that build a tool from the Go module proxy (sourced, not run: it lives
# outside the scripts/ensure/*.sh glob that scripts/test.sh runs).

# find_go <message…>
# Prints the go binary (PATH first, then /usr/local/go/bin); without one prints each message line to stderr and
# returns 1.
find_go() {
  if command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    echo /usr/local/go/bin/go
  else
    printf '%s\n' "$@" >&2
    return 1
  fi
}
