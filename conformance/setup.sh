#!/usr/bin/env bash
# Installs the independent SD-JWT implementations used by vdc's differential
# tests: a Python venv (.venv, from requirements.txt) and node_modules (from
# package-lock.json). Idempotent and non-interactive; a no-op (well under 2 s)
# when both are already up to date. Needs python3 (>= 3.9, with the venv
# module), node (>= 20) and npm, plus access to PyPI and the npm registry (or
# warm pip/npm caches) when something has to be installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

die() {
    echo "conformance/setup.sh: error: $*" >&2
    exit 1
}
say() { echo "conformance/setup.sh: $*" >&2; }

hash_of() { sha256sum "$1" | cut -d' ' -f1; }

command -v python3 >/dev/null 2>&1 || die "python3 not found (need Python >= 3.9)"
command -v node >/dev/null 2>&1 || die "node not found (need Node.js >= 20)"
command -v npm >/dev/null 2>&1 || die "npm not found"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
    || die "python3 is $(python3 -V 2>&1); need >= 3.9"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || die "node is $(node -v); need >= 20"
[ -f requirements.txt ] || die "requirements.txt missing"
[ -f package-lock.json ] || die "package-lock.json missing"

# ---- Python: .venv matches requirements.txt and the current python3?
py_want="$(hash_of requirements.txt) $(python3 -c 'import sys; print(sys.version.split()[0])')"
py_stamp=".venv/.vdc-setup-stamp"
if [ -x .venv/bin/python ] && [ -f "$py_stamp" ] && [ "$(cat "$py_stamp")" = "$py_want" ]; then
    :
else
    say "creating Python venv in conformance/.venv"
    rm -rf .venv
    python3 -m venv .venv \
        || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-input \
        --no-deps --require-virtualenv -r requirements.txt \
        || die "pip install -r conformance/requirements.txt failed"
    .venv/bin/python -m pip check --disable-pip-version-check >/dev/null \
        || die "pip check failed: requirements.txt is not a consistent set"
    .venv/bin/python -c 'import sd_jwt.verifier, jwcrypto.jwk, cryptography.x509' \
        || die "installed sd-jwt / cryptography do not import"
    printf '%s\n' "$py_want" >"$py_stamp"
fi

# ---- Node: node_modules matches package-lock.json?
js_want="$(hash_of package-lock.json) $(node -v)"
js_stamp="node_modules/.vdc-setup-stamp"
if [ -d node_modules ] && [ -f "$js_stamp" ] && [ "$(cat "$js_stamp")" = "$js_want" ]; then
    :
else
    say "installing node_modules with npm ci"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2 \
        || die "npm ci failed in conformance/"
    node -e 'import("@sd-jwt/sd-jwt-vc").then(() => process.exit(0), () => process.exit(1))' \
        || die "installed @sd-jwt/sd-jwt-vc does not import"
    node -e 'Promise.all([import("@openid4vc/openid4vci"), import("@openid4vc/oauth2")]).then(() => process.exit(0), () => process.exit(1))' \
        || die "installed @openid4vc/openid4vci / @openid4vc/oauth2 do not import"
    printf '%s\n' "$js_want" >"$js_stamp"
fi
