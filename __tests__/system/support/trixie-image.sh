#!/usr/bin/env bash
# The Debian 13 image the booted-systemd test (__tests__/system/trixie-boot.test.ts) starts
# with systemd-nspawn: `debootstrap --variant=minbase trixie` with what a bastion runs, packed
# into one tar. Built once and kept (CI builds it at most once per run); every test run
# unpacks a fresh copy; the test names the tar after a hash of this script, so a change here
# builds a new image. Usage: trixie-image.sh TAR [MIRROR]
set -euo pipefail
tar_path=$1
mirror=${2:-http://deb.debian.org/debian}
packages=systemd,systemd-sysv,dbus,rsyslog,ulogd2,nftables,iptables,ipset,iproute2,nodejs,adduser,logrotate,openssh-server,tcpdump
[ -s "$tar_path" ] && exit 0
mkdir -p "$(dirname "$tar_path")"
work=$(mktemp -d "$(dirname "$tar_path")/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase --include="$packages" trixie "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 40 "$work/debootstrap.log" >&2
  exit 1
}
# What the boot needs and a fresh debootstrap leaves out: a machine id made at first boot,
# systemd-networkd for host0, and no package cache.
root=$work/root
: >"$root/etc/machine-id"
ln -sf /usr/lib/systemd/system/systemd-networkd.service "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
mkdir -p "$root/etc/systemd/system/sockets.target.wants"
ln -sf /usr/lib/systemd/system/systemd-networkd.socket "$root/etc/systemd/system/sockets.target.wants/systemd-networkd.socket"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" --numeric-owner -cf "$work/image.tar" .
mv "$work/image.tar" "$tar_path"
