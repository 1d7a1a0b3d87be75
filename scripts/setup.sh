#!/usr/bin/env bash
# Installs what Zunray needs on a Debian machine, idempotently and quickly when
# it is already there: Docker (docker.io), gVisor (runsc) registered as a Docker
# runtime, a running dockerd, the local base images, QEMU and a kernel for the vm
# runtime, and the Python virtual environment in .venv. Run as root (or as a user
# who may sudo). `--with-test-tools` (make test) adds what only the tests use:
# Chromium, a PostgreSQL server, Debian's docker-registry and htpasswd.
# `--plan` prints the Debian packages it would install and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

test_tools=0
plan=0
for arg in "$@"; do
  case "$arg" in
    --with-test-tools) test_tools=1 ;;
    --plan) plan=1 ;;
    *) echo "usage: scripts/setup.sh [--with-test-tools] [--plan]" >&2; exit 2 ;;
  esac
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
say() { printf '[setup] %s\n' "$*"; }
have_systemd() { [ -d /run/systemd/system ]; }

# 1. Debian packages ---------------------------------------------------------
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v runsc >/dev/null 2>&1 || need+=(runsc)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
# builds the local python3 image for functions (scripts/build_images.sh)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
new_registry=0
if [ "$test_tools" = 1 ]; then
  # a local image registry and htpasswd: the tests of the registry image driver use them
  command -v docker-registry >/dev/null 2>&1 || { need+=(docker-registry); new_registry=1; }
  command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
  # headless Chromium: the dashboard's browser tests drive it with Playwright
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  # PostgreSQL: the store's tests run on it as well as on SQLite
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
fi
# Debian's own python3 needs python3-venv for `python3 -m venv` (pyenv builds have it)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
# QEMU for the vm runtime (without its recommends: firmware for other machines, GUIs)
lean=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || lean+=(qemu-system-x86)
if [ "$plan" = 1 ]; then
  echo "packages: ${need[*]} ${lean[*]}"
  exit 0
fi
if [ ${#need[@]} -gt 0 ] || [ ${#lean[@]} -gt 0 ]; then
  say "installing ${need[*]} ${lean[*]}"
  $SUDO apt-get update -qq
  if [ ${#need[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; fi
  if [ ${#lean[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null; fi
fi
if [ "$new_registry" = 1 ]; then
  # Debian's package starts a registry on port 5000 of every interface: the tests start their own on loopback
  if have_systemd; then $SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true
  else $SUDO service docker-registry stop >/dev/null 2>&1 || true; fi
fi

# 2. gVisor as a Docker runtime ---------------------------------------------
changed=$($SUDO python3 scripts/docker_runtimes.py /etc/docker/daemon.json)

# 3. a running Docker engine -------------------------------------------------
# (as root or through sudo: a user outside the docker group must not make us start a second engine)
if ! $SUDO docker info >/dev/null 2>&1; then
  if have_systemd; then
    say "starting docker.service"
    $SUDO systemctl start docker
  else
    say "starting dockerd (no systemd here; its log: /var/log/zunray-dockerd.log)"
    $SUDO mkdir -p /var/log
    $SUDO sh -c 'nohup dockerd >/var/log/zunray-dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 150); do $SUDO docker info >/dev/null 2>&1 && break; sleep 0.2; done
  $SUDO docker info >/dev/null 2>&1 || { say "dockerd did not start; see /var/log/zunray-dockerd.log or journalctl -u docker"; $SUDO tail -20 /var/log/zunray-dockerd.log 2>/dev/null || true; exit 1; }
elif [ "$changed" = "changed" ]; then
  say "reloading dockerd for the gVisor runtimes (daemon.json was backed up to daemon.json.zunray-backup)"
  $SUDO kill -HUP "$(pidof dockerd)"
  sleep 1
fi

# 4. base images (no registry is reachable: build them locally), the VM kernel
SUDO="$SUDO" bash scripts/build_images.sh
bash scripts/fetch_vm_kernel.sh

# 5. Python virtual environment ----------------------------------------------
stamp=.venv/.zunray-deps
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "creating the virtual environment in .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null 2>&1
  # versions CI and users get are pinned in constraints.txt (regenerate it when pyproject.toml changes)
  if ! .venv/bin/pip install -q -c constraints.txt -e '.[test,postgres,otlp]' >.venv/pip.log 2>&1; then
    tail -40 .venv/pip.log; exit 1
  fi
  echo "$want" > "$stamp"
fi
say "ready"
