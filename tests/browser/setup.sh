#!/usr/bin/env bash
# Installs what the real-browser test needs (crates/vdc/tests/it/browser.rs): node_modules
# from package-lock.json (playwright-core, exact version) and checks Debian's Chromium at
# /usr/bin/chromium (scripts/ensure-chromium.sh installs it), and that conformance/setup.sh
# installed the wallet libraries the DC API scenario uses. Idempotent; a no-op when
# up to date. Fails loudly, never skips.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

die() {
    echo "tests/browser/setup.sh: error: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node not found (need Node.js >= 20)"
command -v npm >/dev/null 2>&1 || die "npm not found"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || die "node is $(node -v); need >= 20"
[ -x "${VDC_CHROMIUM:-/usr/bin/chromium}" ] \
    || die "${VDC_CHROMIUM:-/usr/bin/chromium} is missing: run scripts/ensure-chromium.sh (apt-get install -y chromium, as root)"

# The DC API scenario's wallet (dcapi-wallet.mjs) imports the independent @openid4vc/openid4vp
# and @sd-jwt/sd-jwt-vc that conformance/setup.sh installs (one pinned copy, not two).
for m in @openid4vc/openid4vp @sd-jwt/sd-jwt-vc; do
    [ -f "../../conformance/node_modules/$m/package.json" ] \
        || die "conformance/node_modules/$m is missing: run conformance/setup.sh"
done

want="$(sha256sum package-lock.json | cut -d' ' -f1) $(node -v)"
stamp="node_modules/.vdc-setup-stamp"
if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
echo "tests/browser/setup.sh: installing node_modules with npm ci" >&2
# --ignore-scripts: playwright-core never downloads a browser; Debian's Chromium is used.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2 \
    || die "npm ci failed in tests/browser/"
node -e 'import("playwright-core").then(() => process.exit(0), () => process.exit(1))' \
    || die "installed playwright-core does not import"
printf '%s\n' "$want" >"$stamp"
