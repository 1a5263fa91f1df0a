#!/usr/bin/env bash
# The lint and format gate (npm run lint; a step of scripts/test.sh). Fails on any finding:
#  - Biome check: lint rules, formatting and import order over what biome.jsonc includes (TS and JSON);
#  - shellcheck over every shell script in the repository, found by .sh extension or by a sh/bash shebang,
#    so a new script is checked without being listed here.
# Fix formatting and import order with `npm run format`.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
node_modules/.bin/biome check --error-on-warnings . || status=1

if ! command -v shellcheck >/dev/null 2>&1; then
  echo "lint: shellcheck is not installed (bash scripts/ensure/shellcheck.sh)" >&2
  exit 1
fi
shell_scripts=()
# Tracked and new (not ignored) files; regular files only (node_modules is a symlink to a shared install).
while IFS= read -r -d '' file; do
  [[ -f "$file" && ! -L "$file" ]] || continue
  first_line=""
  IFS= read -r first_line <"$file" || true
  if [[ "$file" == *.sh || "$first_line" =~ ^#![[:space:]]*(/usr)?/bin/(env[[:space:]]+)?(ba|da|k)?sh([[:space:]]|$) ]]; then
    shell_scripts+=("$file")
  fi
done < <(git ls-files -z --cached --others --exclude-standard)
echo "shellcheck: ${#shell_scripts[@]} scripts: ${shell_scripts[*]}"
shellcheck "${shell_scripts[@]}" || status=1

exit "$status"
