#!/usr/bin/env bash
# Installs and builds what the QEMU end-to-end tests (test/e2e) need:
#  - Debian packages: QEMU (TCG), SeaBIOS, OVMF, iPXE ROMs, busybox, the systemd-boot EFI stub, binutils;
#  - from Debian's current kernel package (downloaded, unpacked, never installed): vmlinuz and
#    the virtio-net modules;
#  - a busybox initrd whose /init is scripts/e2e/guest-init.sh.
# Artefacts are cached under ${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/e2e/<key>/, keyed by
# the package versions and the guest scripts, and described by e2e/current.json for the harness.
# Idempotent: a second run only checks versions and exits.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
guest_dir="$repo_root/scripts/e2e"
cache_root="${BOOT_OPERATOR_CACHE:-$HOME/.cache/boot-operator}/e2e"

log() { echo "ensure/e2e: $*" >&2; }

packages=(qemu-system-x86 seabios ipxe-qemu ovmf busybox-static systemd-boot-efi binutils cpio kmod gzip)

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_update_once() {
  if [[ -z "$apt_updated" ]]; then
    log "apt-get update"
    as_root apt-get update -qq >&2
    apt_updated=yes
  fi
}

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} > 0)); then
  log "installing ${missing[*]}"
  apt_update_once
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# linux-image-amd64 is a meta package; the kernel itself is the versioned package it depends on.
kernel_package_of_meta() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
kernel_package="$(kernel_package_of_meta)"
if [[ -z "$kernel_package" ]]; then
  apt_update_once
  kernel_package="$(kernel_package_of_meta)"
fi
[[ -n "$kernel_package" ]] || { log "cannot resolve the kernel package behind linux-image-amd64"; exit 1; }
kernel_release="${kernel_package#linux-image-}"
kernel_package_version="$(apt-cache show --no-all-versions "$kernel_package" | awk '$1 == "Version:" { print $2; exit }')"

installed_version() { dpkg-query -W -f='${Version}' "$1"; }
# This script's own text is an input too: a change to how artefacts are built makes a new key.
digest() { sha256sum <"$1" | cut -d' ' -f1; }
key_input="builder=$(digest "${BASH_SOURCE[0]}")
kernel=$kernel_package=$kernel_package_version
busybox=$(installed_version busybox-static)
stub=$(installed_version systemd-boot-efi)
init=$(digest "$guest_dir/guest-init.sh")
udhcpc=$(digest "$guest_dir/udhcpc.script")"
key="$kernel_release-$(printf '%s' "$key_input" | sha256sum | cut -c1-12)"
artefacts="$cache_root/$key"

stub_efi=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
for file in "$stub_efi" "$ovmf_code" "$ovmf_vars" /usr/lib/ipxe/qemu/efi-virtio.rom /usr/share/seabios/bios-256k.bin; do
  [[ -r "$file" ]] || { log "missing $file after installing packages"; exit 1; }
done

if [[ ! -f "$artefacts/complete" ]]; then
  log "building guest artefacts $key"
  mkdir -p "$cache_root"
  build="$(mktemp -d "$cache_root/.build.XXXXXX")"
  trap 'rm -rf "$build"' EXIT

  # Download the kernel package and unpack only the kernel and the network driver tree.
  # As root, apt drops to _apt for downloads, which cannot write into this private directory: stay root.
  download_kernel() { (cd "$build" && apt-get download -qq -o APT::Sandbox::User=root "$kernel_package=$kernel_package_version" >&2); }
  download_kernel || { apt_update_once; download_kernel; }
  deb="$(ls "$build"/*.deb)"
  mkdir -p "$build/kernel"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$build/kernel" --wildcards \
    "./boot/vmlinuz-$kernel_release" \
    "./lib/modules/$kernel_release/modules.*" \
    "./lib/modules/$kernel_release/kernel/drivers/virtio/*" \
    "./lib/modules/$kernel_release/kernel/drivers/net/*" \
    "./lib/modules/$kernel_release/kernel/net/core/*"
  rm -f "$deb"
  depmod -b "$build/kernel" "$kernel_release"

  # The initrd: busybox with one link per applet, the virtio-net modules in load order, /init.
  root="$build/initrd"
  mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,lib/modules/e2e}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ "$applet" == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  install -m 0755 "$guest_dir/guest-init.sh" "$root/init"
  install -m 0755 "$guest_dir/udhcpc.script" "$root/etc/udhcpc.script"
  modprobe -d "$build/kernel" -S "$kernel_release" --show-depends -a virtio_pci virtio_net |
    awk '$1 == "insmod" && !seen[$2]++ { print $2 }' |
    while read -r module_path; do
      module="$(basename "$module_path")"
      case "$module" in
        *.ko) cp "$module_path" "$root/lib/modules/e2e/$module" ;;
        *.ko.xz) xz -dc "$module_path" >"$root/lib/modules/e2e/${module%.xz}"; module="${module%.xz}" ;;
        *.ko.zst) zstd -qdc "$module_path" >"$root/lib/modules/e2e/${module%.zst}"; module="${module%.zst}" ;;
        *) log "unexpected module file $module_path"; exit 1 ;;
      esac
      echo "$module" >>"$root/lib/modules/e2e/load-order"
    done
  grep -q '^virtio_net.ko$' "$root/lib/modules/e2e/load-order" || { log "virtio_net.ko not found in $kernel_package"; exit 1; }
  # Same inputs, same bytes: fixed timestamps, sorted entries, no gzip name/time.
  find "$root" -exec touch -h -d @0 {} +
  (cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null --create --format=newc --reproducible --quiet) |
    gzip -n -9 >"$build/initrd.img"

  mkdir -p "$build/out"
  cp "$build/kernel/boot/vmlinuz-$kernel_release" "$build/out/vmlinuz"
  mv "$build/initrd.img" "$build/out/initrd.img"
  cp "$stub_efi" "$build/out/linuxx64.efi.stub"
  printf 'NAME="boot-operator e2e guest"\nID=boot-operator-e2e\nVERSION_ID="%s"\nPRETTY_NAME="boot-operator e2e guest (Linux %s)"\n' \
    "$kernel_release" "$kernel_release" >"$build/out/os-release"
  printf '%s\n' "$key_input" >"$build/out/inputs"
  touch "$build/out/complete"

  rm -rf "$artefacts"
  mv "$build/out" "$artefacts"
  rm -rf "$build"
  trap - EXIT
fi

# Tell the harness where everything is; written atomically so a reader never sees half a file.
manifest="$cache_root/current.json"
cat >"$manifest.tmp" <<JSON
{
  "key": "$key",
  "kernelRelease": "$kernel_release",
  "kernel": "$artefacts/vmlinuz",
  "initrd": "$artefacts/initrd.img",
  "ukiStub": "$artefacts/linuxx64.efi.stub",
  "osRelease": "$artefacts/os-release",
  "ovmfCode": "$ovmf_code",
  "ovmfVars": "$ovmf_vars",
  "qemu": "$(command -v qemu-system-x86_64)"
}
JSON
mv -f "$manifest.tmp" "$manifest"

# Keep only the current artefacts (directories with an inputs file), and no build left over by an interrupted run.
for old in "$cache_root"/*/; do
  [[ -f "${old}inputs" && "${old%/}" != "$artefacts" ]] && rm -rf "${old%/}"
done
find "$cache_root" -maxdepth 1 -name '.build.*' -mmin +60 -exec rm -rf {} +
log "ready: $artefacts"
