#!/usr/bin/env bash
# Debian packages the test suite runs for real: Redis (cache tier), Chromium (VS Code in
# code-server and the dashboard, driven headless), and what code-server's npm install needs
# (libkrb5-dev to compile its kerberos module, ripgrep to pre-seed its download).
# Installs only what is missing; without root it says what to install and exits non-zero.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
echo ">> installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
