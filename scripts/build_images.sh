#!/usr/bin/env bash
# Builds the local base images once (cached by tag): no container registry is
# reachable from the build machines, and air-gapped sites need the same.
#   busybox:latest      from Debian's busybox-static, via docker import
#   zunray/python:3.11  Debian's python3, via mmdebstrap + docker import
set -euo pipefail
SUDO="${SUDO:-}"
docker() { $SUDO command docker "$@"; }

if ! docker image inspect busybox:latest >/dev/null 2>&1; then
  echo "[images] building busybox:latest from busybox-static"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  echo 'root:x:0:' > "$root/etc/group"
  chmod 1777 "$root/tmp"
  tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - busybox:latest >/dev/null
fi

# zunray/python:3.11  Debian bookworm's python3 (the function shim's runtime), via
# mmdebstrap from the Debian mirror apt already uses; no network inside the build.
if ! docker image inspect zunray/python:3.11 >/dev/null 2>&1; then
  mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -v security | awk '{print $2}' | grep -m1 debian || true)
  if [ -z "$mirror" ]; then
    echo "[images] no Debian mirror in /etc/apt/sources.list*: configure apt, then run this again" >&2
    exit 1
  fi
  echo "[images] building zunray/python:3.11 from $mirror (about a minute, once)"
  mmdebstrap --quiet --variant=essential --include=python3 \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm - "$mirror" | docker import -c 'CMD ["python3"]' - zunray/python:3.11 >/dev/null
fi
