#!/bin/sh
# /init of the e2e test guest (busybox, runs as PID 1 from the initrd).
# It does what a provisioning OS does first: bring up the NIC with DHCP, fetch its
# Ignition config from the URL on the kernel command line, then reports on the serial
# port and powers off. Lines starting with "BOOT-E2E:" are read by test/e2e/qemu.ts.
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Write reports to the first serial port directly: the kernel command line of a
# served iPXE script may not say console=ttyS0, and the tests must still see them.
report() {
  echo "BOOT-E2E: $*" >/dev/ttyS0
}

finish() {
  sync
  # Power off through ACPI: QEMU exits, which tells the harness the boot is over.
  poweroff -f
  sleep 30
}

fail() {
  report "failed $*"
  finish
}

report "init started kernel=$(uname -r)"

cmdline="$(cat /proc/cmdline)"
report "cmdline $cmdline"
ignition_url=""
for word in $cmdline; do
  case "$word" in
    ignition.config.url=*) ignition_url="${word#ignition.config.url=}" ;;
  esac
done
[ -n "$ignition_url" ] || fail "no ignition.config.url= on the kernel command line: $cmdline"

# A UKI carries one command line for a whole fleet, so it may name the machine as the
# literal ${uuid}; iPXE would have expanded it. Expand it here from SMBIOS.
machine_uuid="$(tr 'A-F' 'a-f' </sys/class/dmi/id/product_uuid 2>/dev/null)"
report "smbios uuid=$machine_uuid"
# shellcheck disable=SC2016 # the literal text ${uuid}, not an expansion
case "$ignition_url" in
  *'${uuid}'*)
    before="${ignition_url%%\$\{uuid\}*}"
    after="${ignition_url#*\$\{uuid\}}"
    ignition_url="${before}${machine_uuid}${after}"
    ;;
esac

# virtio-net and its dependencies are modules in Debian's kernel; load them in order.
while read -r module; do
  [ -n "$module" ] || continue
  insmod "/lib/modules/e2e/$module" 2>/dev/null || report "insmod $module failed (may be built in)"
done </lib/modules/e2e/load-order

interface=""
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  for path in /sys/class/net/*; do
    name="${path##*/}"
    [ "$name" = lo ] && continue
    [ -e "$path" ] && interface="$name" && break
  done
  [ -n "$interface" ] && break
  sleep 0.5
done
[ -n "$interface" ] || fail "no network interface appeared"

ip link set lo up
ip link set "$interface" up
udhcpc -i "$interface" -s /etc/udhcpc.script -n -q -t 10 -T 2 >/dev/null 2>&1 || fail "DHCP on $interface failed"
report "network up interface=$interface address=$(ip -4 -o addr show dev "$interface" | awk '{print $4}')"

report "fetching ignition url=$ignition_url"
fetched=""
for _ in 1 2 3; do
  if wget -q -O /ignition.json "$ignition_url"; then
    fetched=yes
    break
  fi
  sleep 1
done
[ -n "$fetched" ] || fail "could not fetch $ignition_url"

report "ignition-fetched bytes=$(wc -c </ignition.json) sha256=$(sha256sum /ignition.json | cut -d' ' -f1)"
report "done"
finish
