#!/usr/bin/env bash
# Assemble a Unified Kernel Image: the systemd-boot EFI stub with .osrel, .cmdline,
# .linux and .initrd sections added by objcopy, each at its own page-aligned address
# after the stub's last section (the stub finds them by name at run time).
#
# usage: build-uki.sh <stub.efi> <os-release> <vmlinuz> <initrd> <kernel command line> <out.efi>
set -euo pipefail

if [[ $# -ne 6 ]]; then
  echo "usage: $0 <stub.efi> <os-release> <vmlinuz> <initrd> <kernel command line> <out.efi>" >&2
  exit 2
fi
stub="$1" osrel="$2" kernel="$3" initrd="$4" cmdline="$5" out="$6"

for file in "$stub" "$osrel" "$kernel" "$initrd"; do
  [[ -r "$file" ]] || { echo "build-uki: cannot read $file" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The stub reads .cmdline as a NUL-free byte string; no trailing newline.
printf '%s' "$cmdline" >"$work/cmdline"

page=$((0x1000))
align_up() { echo $(((($1) + page - 1) / page * page)); }

# End of the stub's highest section: `objdump -h` rows are "Idx Name Size VMA LMA Off Algn".
stub_end=0
while read -r _ _ size vma _; do
  end=$((0x$vma + 0x$size))
  ((end > stub_end)) && stub_end=$end
done < <(objdump -h "$stub" | awk '$1 ~ /^[0-9]+$/ && NF >= 7')
((stub_end > 0)) || { echo "build-uki: no sections found in $stub" >&2; exit 1; }

osrel_vma=$(align_up "$stub_end")
cmdline_vma=$(align_up $((osrel_vma + $(stat -Lc%s "$osrel"))))
linux_vma=$(align_up $((cmdline_vma + $(stat -Lc%s "$work/cmdline"))))
initrd_vma=$(align_up $((linux_vma + $(stat -Lc%s "$kernel"))))

mkdir -p "$(dirname "$out")"
objcopy \
  --add-section .osrel="$osrel" --change-section-vma .osrel="$(printf '0x%x' "$osrel_vma")" \
  --add-section .cmdline="$work/cmdline" --change-section-vma .cmdline="$(printf '0x%x' "$cmdline_vma")" \
  --add-section .linux="$kernel" --change-section-vma .linux="$(printf '0x%x' "$linux_vma")" \
  --add-section .initrd="$initrd" --change-section-vma .initrd="$(printf '0x%x' "$initrd_vma")" \
  "$stub" "$out.tmp"
mv -f "$out.tmp" "$out"
