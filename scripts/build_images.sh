#!/usr/bin/env bash
# Builds the local base images once (cached by tag): no container registry is
# reachable from the build machines, and air-gapped sites need the same.
#   busybox:latest  from Debian's busybox-static, via docker import
set -euo pipefail

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
