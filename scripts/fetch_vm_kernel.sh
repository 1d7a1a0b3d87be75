#!/usr/bin/env bash
# The VM runtime's kernel: Debian's linux-image-cloud-amd64, unpacked with dpkg -x
# (nothing is installed on the host, no boot loader), to ~/.cache/zunray/vm-kernel/vmlinuz.
# Idempotent: does nothing when the kernel is there.
set -euo pipefail
dest="${ZUNRAY_VM_KERNEL_DIR:-$HOME/.cache/zunray/vm-kernel}"
[ -f "$dest/vmlinuz" ] && exit 0
pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
if [ -z "$pkg" ]; then
  echo "[vm-kernel] linux-image-cloud-amd64 not found in apt's lists; the vm runtime stays off" >&2
  exit 0
fi
echo "[vm-kernel] fetching $pkg"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download -qq "$pkg" 2>"$work/err"); then
  echo "[vm-kernel] could not download $pkg ($(tail -1 "$work/err")); the vm runtime stays off" >&2
  exit 0
fi
dpkg -x "$work"/*.deb "$work/x"
mkdir -p "$dest"
cp "$work"/x/boot/vmlinuz-* "$dest/vmlinuz.partial"
mv "$dest/vmlinuz.partial" "$dest/vmlinuz"
