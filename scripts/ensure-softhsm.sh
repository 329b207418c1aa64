#!/usr/bin/env bash
# Makes sure Debian's SoftHSM2 (the PKCS#11 token the HSM tests use) is installed:
# /usr/lib/softhsm/libsofthsm2.so and softhsm2-util. Installs the Debian package when missing
# (needs root); fails loudly when it cannot. Tests make their own tokens in temporary
# directories (SOFTHSM2_CONF), never in the system token directory.
set -euo pipefail

if [ -f /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-softhsm: SoftHSM2 is missing and this is not root: run 'apt-get install -y softhsm2' as root" >&2
  exit 1
fi
echo "ensure-softhsm: installing softhsm2 (Debian package)" >&2
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2 >/dev/null \
  || { echo "ensure-softhsm: apt-get install softhsm2 failed" >&2; exit 1; }
[ -f /usr/lib/softhsm/libsofthsm2.so ] || { echo "ensure-softhsm: libsofthsm2.so still missing after install" >&2; exit 1; }
