#!/usr/bin/env bash
# HAIP 1.0 mode (OpenID4VC High Assurance Interoperability Profile) of the running server,
# judged by independent implementations: haip/suite.mjs drives a HAIP-mode issuer and a
# HAIP-mode verifier with @openid4vc/oauth2, @openid4vc/openid4vci, @openid4vc/openid4vp
# 0.4.6 (wallet attestation at PAR and token, key attestation in both proof types, DPoP),
# jose 6.2.19 (OID4VCI 1.0 §10 request/response encryption, x5c chains, JWS) and
# @sd-jwt/sd-jwt-vc (presentation with KB-JWT), plus the refusals (no attestation, PoP
# replay, untrusted or self-signed attestation signers, untrusted key attestations).
# A HAIP-mode issuer needs the authorization code flow (HAIP 1.0 §4), so the suite starts
# the oidc-provider IdP (conformance/idp/provider.mjs) as authcode.sh does.
# Needs VDC_BASE_URL, VDC_ADMIN_KEY and VDC_IDP_PORT, a port whose origin
# (http://127.0.0.1:$VDC_IDP_PORT) the server was started with in VDC_OUTBOUND_ALLOW
# (conformance/run.sh does both). VDC_HAIP_ISSUER_ID overrides the issuer id (default
# haip-<random>). Prints a PASS/FAIL line per step; exit non-zero on any FAIL.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf="$(cd "$here/.." && pwd)"
die() {
    echo "suites/haip.sh: error: $*" >&2
    exit 1
}
[ -n "${VDC_BASE_URL:-}" ] || die "VDC_BASE_URL not set"
[ -n "${VDC_ADMIN_KEY:-}" ] || die "VDC_ADMIN_KEY not set"
[ -n "${VDC_IDP_PORT:-}" ] || die "VDC_IDP_PORT not set (the server must allow http://127.0.0.1:\$VDC_IDP_PORT in VDC_OUTBOUND_ALLOW)"
command -v openssl >/dev/null 2>&1 || die "openssl not found (the suite makes its X.509 certificates with it)"
base="${VDC_BASE_URL%/}"
issuer_id="${VDC_HAIP_ISSUER_ID:-haip-$(node -e 'console.log(require("crypto").randomBytes(4).toString("hex"))')}"
credential_issuer="$base/issuers/$issuer_id"

tmp="$(mktemp -d)"
idp_pid=""
cleanup() {
    if [ -n "$idp_pid" ] && kill -0 "$idp_pid" 2>/dev/null; then
        kill "$idp_pid" 2>/dev/null || true
        wait "$idp_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the enterprise IdP, with the HAIP issuer registered as a confidential client
secret="$(node -e 'console.log(require("crypto").randomBytes(24).toString("base64url"))')"
node -e '
  const [redirect, secret] = process.argv.slice(1);
  console.log(JSON.stringify({ alg: "ES256", clients: [{ client_id: "vdc-haip-issuer", client_secret: secret, redirect_uris: [redirect] }] }));
' "$credential_issuer/authorize/callback" "$secret" >"$tmp/idp.json"
node "$conf/idp/provider.mjs" --config "$tmp/idp.json" --port "$VDC_IDP_PORT" >"$tmp/idp.out" 2>"$tmp/idp.err" &
idp_pid=$!
for _ in $(seq 1 100); do
    [ -s "$tmp/idp.out" ] && break
    kill -0 "$idp_pid" 2>/dev/null || { cat "$tmp/idp.err" >&2; die "the IdP exited early"; }
    sleep 0.1
done
idp_issuer="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]).issuer)' "$tmp/idp.out")" \
    || { cat "$tmp/idp.err" >&2; die "the IdP printed no ready line"; }
echo "IdP (oidc-provider) at $idp_issuer" >&2

# The sample generator must keep working (its artifacts are what the Rust parsers are checked
# against): run it into the temp dir.
node "$conf/haip/samples.mjs" "$tmp/samples" 2>"$tmp/samples.err" || { cat "$tmp/samples.err" >&2; die "haip/samples.mjs failed"; }

status=0
VDC_HAIP_ISSUER_ID="$issuer_id" VDC_HAIP_IDP_ISSUER="$idp_issuer" VDC_HAIP_IDP_CLIENT_ID="vdc-haip-issuer" \
    VDC_HAIP_IDP_SECRET="$secret" timeout 300 node "$conf/haip/suite.mjs" || status=$?

if ! kill -0 "$idp_pid" 2>/dev/null; then
    cat "$tmp/idp.err" >&2
    die "the IdP died during the run"
fi
[ "$status" -eq 0 ] || die "haip/suite.mjs failed (exit $status)"
