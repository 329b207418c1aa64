#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the real-browser test
# (tests/browser/). Installs the Debian package when missing (needs root); fails loudly
# when it cannot.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: /usr/bin/chromium is missing and this is not root: run 'apt-get install -y chromium' as root" >&2
  exit 1
fi
echo "ensure-chromium: installing chromium (Debian package)" >&2
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
  || { echo "ensure-chromium: apt-get install chromium failed" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "ensure-chromium: /usr/bin/chromium still missing after install" >&2; exit 1; }
