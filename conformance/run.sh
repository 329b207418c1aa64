#!/usr/bin/env bash
# The one conformance command: starts a fresh `vdc serve --demo` (new SQLite data dir, fixed
# admin key, free port) and runs every third-party implementation in this directory against
# it, plus the library-to-library SD-JWT cross-check. Exit 0 iff every suite passed.
#
#   conformance/run.sh
#
# Suites (pinned: package-lock.json, requirements.txt):
#   sdjwt-cross   selftest.sh: @sd-jwt/* (JS) and sd-jwt (Python) issue/verify each other's
#                 SD-JWTs and reject the same broken ones (no server needed)
#   openid4vci    openid4vci-js/selftest.sh: @openid4vc/openid4vci wallet flows and refusals
#   e2e           e2e.mjs: OpenID4VCI wallet → both SD-JWT libraries → OpenID4VP wallet →
#                 revoke → @sd-jwt/jwt-status-list → rejected
#   openapi       suites/openapi.sh: @apidevtools/swagger-parser validates the served
#                 /api/v1/openapi.json
#   webhooks      suites/webhooks.sh: the standardwebhooks reference library verifies the
#                 server's signed deliveries for an issuance and a revocation
#   x509          suites/x509.sh: PyPI cryptography (strict DER) reads every certificate the
#                 server serves, every extension; Status List Tokens carry iss and x5c
#   authcode      suites/authcode.sh: @openid4vc/openid4vci and oauth4webapi run the
#                 authorization code flow (PAR, PKCE, DPoP, iss) with a login at an
#                 oidc-provider IdP, plus the refusals
#   signed-metadata suites/signed-metadata.sh: @openid4vc/openid4vci reads the issuer's
#                 signed Credential Issuer Metadata (Accept: application/jwt, x5c)
#   haip          suites/haip.sh: a HAIP-mode issuer and verifier driven by @openid4vc/*
#                 0.4.6 (wallet and key attestation, PAR, DPoP, presentation with
#                 trusted_authorities) and jose (OID4VCI §10 encryption), plus the refusals
#                 (docs/HAIP.md)
#   mdoc          suites/mdoc.sh: @owf/mdoc 0.6.0 and pymdoccbor 1.4.0 verify an mso_mdoc mDL
#                 issued over the pre-authorized flow against the issuer's IACA; @owf/mdoc
#                 presents it and a foreign mDL (OID4VP 1.0 B.2.6.1 transcript), plus the
#                 refusals (untrusted IACA, another nonce, altered element, revoked)
#   status-cwt    suites/status-cwt.sh: PyPI cwt 3.3.0 verifies the Status List Token as CWT
#   dcapi         suites/dcapi.sh: @openid4vc/openid4vp 0.4.6 as the wallet for OID4VP over the
#                 Digital Credentials API: unsigned/signed dc_api and dc_api.jwt, a HAIP x509_hash
#                 verifier, verifier_info, transaction_data, plus the refusals (origin, audience,
#                 transaction_data, nonce, decryption)
#   dcql          suites/dcql.sh: npm dcql 3.0.0 and `vdc dcql match` evaluate the same DCQL
#                 queries and credentials (dcql/corpus.json); disagreements only as listed
#                 in dcql/known-differences.json with the deciding spec section
#   (every conformance/suites/*.sh runs, with VDC_BASE_URL/VDC_ADMIN_KEY set)
#
# Environment: VDC_BIN (a vdc binary instead of `cargo build -p vdc`), CARGO_TARGET_DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf="$here"
repo="$(cd "$here/.." && pwd)"
die() {
    echo "conformance/run.sh: error: $*" >&2
    exit 1
}
command -v curl >/dev/null 2>&1 || die "curl not found"
command -v node >/dev/null 2>&1 || die "node not found"

"$here/setup.sh"

ADMIN_KEY="vdc-conformance-admin-key-$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')"
server_pid=""
tmp="$(mktemp -d)"
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# The webhooks suite's receiver: the server may deliver to it although it is plain-HTTP
# loopback (VDC_OUTBOUND_ALLOW, as operators allow-list internal receivers).
VDC_WEBHOOK_RECEIVER_PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
# The authcode suite's IdP (conformance/idp/provider.mjs), which the issuer calls as an OIDC RP.
VDC_IDP_PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
export VDC_WEBHOOK_RECEIVER_PORT VDC_IDP_PORT
export VDC_OUTBOUND_ALLOW="http://127.0.0.1:$VDC_WEBHOOK_RECEIVER_PORT,http://127.0.0.1:$VDC_IDP_PORT"

# shellcheck source=server.sh
. "$here/server.sh"
start_vdc
export VDC_BASE_URL="$base" VDC_ADMIN_KEY="$ADMIN_KEY"

results=()
failures=0
suite() { # $1 = name, rest = command
    local name="$1"
    shift
    echo "== $name" >&2
    if "$@"; then
        results+=("ok    $name")
    else
        results+=("FAIL  $name")
        failures=$((failures + 1))
    fi
}

suite sdjwt-cross "$here/selftest.sh"
suite openid4vci "$here/openid4vci-js/selftest.sh"
suite e2e node "$here/e2e.mjs"
if [ -d "$here/suites" ]; then
    for s in "$here"/suites/*.sh; do
        [ -e "$s" ] || continue
        suite "$(basename "$s" .sh)" bash "$s"
    done
fi

if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$tmp/server.log" >&2
    die "the server died during the run"
fi
echo
echo "conformance against $base:"
printf '  %s\n' "${results[@]}"
[ "$failures" -eq 0 ] || die "$failures suite(s) failed"
