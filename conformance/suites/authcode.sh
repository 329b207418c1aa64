#!/usr/bin/env bash
# The authorization code flow (OID4VCI 1.0 §5/§6: RFC 9126 PAR, RFC 7636 PKCE S256, RFC 9449
# DPoP, RFC 9207 iss) of the running server, driven by two independent clients against an
# issuer whose users log in at a real OpenID Provider (conformance/idp/provider.mjs,
# oidc-provider):
#   openid4vci-js/authcode.mjs  @openid4vc/openid4vci wallet: offer (issuer_state,
#                               authorization_details) and wallet-initiated (scope) runs
#   oauth4webapi/authcode.mjs   oauth4webapi client: discovery, PAR, DPoP nonces, iss,
#                               refresh, and the refusals (plain PKCE, reused request_uri and
#                               code, wrong verifier, missing DPoP, Bearer use, old refresh)
# Needs VDC_BASE_URL, VDC_ADMIN_KEY and VDC_IDP_PORT, a port whose origin
# (http://127.0.0.1:$VDC_IDP_PORT) the server was started with in VDC_OUTBOUND_ALLOW
# (conformance/run.sh does both). VDC_AUTHCODE_ISSUER_ID overrides the issuer id (default
# acme-login), for a rerun against the same server.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf="$(cd "$here/.." && pwd)"
die() {
    echo "suites/authcode.sh: error: $*" >&2
    exit 1
}
[ -n "${VDC_BASE_URL:-}" ] || die "VDC_BASE_URL not set"
[ -n "${VDC_ADMIN_KEY:-}" ] || die "VDC_ADMIN_KEY not set"
[ -n "${VDC_IDP_PORT:-}" ] || die "VDC_IDP_PORT not set (the server must allow http://127.0.0.1:\$VDC_IDP_PORT in VDC_OUTBOUND_ALLOW)"
base="${VDC_BASE_URL%/}"
issuer_id="${VDC_AUTHCODE_ISSUER_ID:-acme-login}"
credential_issuer="$base/issuers/$issuer_id"
wallet_redirect="https://wallet.example/cb"

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

# ---- the enterprise IdP, with vdc registered as a confidential client
secret="$(node -e 'console.log(require("crypto").randomBytes(24).toString("base64url"))')"
node -e '
  const [redirect, secret] = process.argv.slice(1);
  console.log(JSON.stringify({ alg: "RS256", clients: [{ client_id: "vdc-issuer", client_secret: secret, redirect_uris: [redirect] }] }));
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

# ---- the issuer: claims from the IdP's userinfo via claim_mapping
api() { # $1 method, $2 path, $3 body file (optional); prints the body, fails on non-2xx
    local args=(-sS -o "$tmp/api.out" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $VDC_ADMIN_KEY")
    [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$3")
    local status
    status="$(curl "${args[@]}" "$base$2")" || die "$1 $2: curl failed"
    case "$status" in
        2*) cat "$tmp/api.out" ;;
        *) die "$1 $2: HTTP $status: $(head -c 1500 "$tmp/api.out")" ;;
    esac
}
node -e '
  const [id, idp, secret] = process.argv.slice(1);
  console.log(JSON.stringify({
    id, signing_alg: "ES256",
    credential_configurations: { EmployeeBadge: {
      format: "dc+sd-jwt", vct: "https://acme.example/vct/employee-badge", scope: "employee_badge",
      claims: [{ path: ["given_name"] }, { path: ["family_name"] }, { path: ["employee_id"], mandatory: true }],
      cryptographic_binding_methods_supported: ["jwk"] } },
    identity_provider: { issuer: idp, client_id: "vdc-issuer", client_secret: secret,
      scopes: ["openid", "profile", "employee"],
      claim_mapping: [
        { path: ["given_name"], from: "given_name" },
        { path: ["family_name"], from: "family_name" },
        { path: ["employee_id"], from: "employee_number" } ] } }));
' "$issuer_id" "$idp_issuer" "$secret" >"$tmp/issuer.json"
api POST /api/v1/issuers "$tmp/issuer.json" >/dev/null
echo "issuer $credential_issuer created" >&2

echo '{"credential_configuration_ids":["EmployeeBadge"],"grant":"authorization_code"}' >"$tmp/offer-req.json"
api POST "/api/v1/issuers/$issuer_id/offers" "$tmp/offer-req.json" >"$tmp/offer.json"
offer_uri="$(node -e '
  const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const g = o.credential_offer && o.credential_offer.grants && o.credential_offer.grants.authorization_code;
  if (!g || typeof g.issuer_state !== "string" || typeof o.offer_uri !== "string") {
    console.error("offer answer without credential_offer.grants.authorization_code.issuer_state / offer_uri: " + JSON.stringify(o).slice(0, 800));
    process.exit(1);
  }
  console.log(o.offer_uri);
' "$tmp/offer.json")" || die "the offer has no authorization_code grant"

# ---- the drivers
node -e '
  const [issuer, offer, redirect] = process.argv.slice(1);
  console.log(JSON.stringify({
    credential_issuer: issuer, offer_uri: offer, client_id: "conformance-wallet", redirect_uri: redirect,
    credential_configuration_id: "EmployeeBadge", scope: "employee_badge",
    login: { user: "ada", password: "lovelace-test" },
    expect: { given_name: "Ada", family_name: "Lovelace", employee_id: "1001" } }));
' "$credential_issuer" "$offer_uri" "$wallet_redirect" >"$tmp/request.json"

failed=0
drive() { # $1 name, $2 script
    local out="$tmp/$1.out"
    if ! timeout 90 node "$2" <"$tmp/request.json" >"$out"; then
        echo "suites/authcode.sh: $1 driver exited non-zero" >&2
        failed=$((failed + 1))
        return
    fi
    node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").pop());
      const bad = r.checks.filter((c) => !c.ok);
      console.error(`${process.argv[2]}: ${r.checks.length - bad.length} passed, ${bad.length} failed`);
      process.exit(r.ok ? 0 : 1);
    ' "$out" "$1" || failed=$((failed + 1))
}
drive openid4vci "$conf/openid4vci-js/authcode.mjs"
drive oauth4webapi "$conf/oauth4webapi/authcode.mjs"

# The offer the issuer-initiated run redeemed (through issuer_state) shows the credential.
offer_id="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).id)' "$tmp/offer.json")"
api GET "/api/v1/issuers/$issuer_id/offers/$offer_id" >"$tmp/offer-status.json"
node -e '
  const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const ok = o.status === "credential_issued" && Array.isArray(o.credentials) && o.credentials.length === 1;
  console.error(`  ${ok ? "ok  " : "FAIL"}  the authorization_code offer is credential_issued with one credential${ok ? "" : `: ${JSON.stringify(o)}`}`);
  process.exit(ok ? 0 : 1);
' "$tmp/offer-status.json" || failed=$((failed + 1))

if ! kill -0 "$idp_pid" 2>/dev/null; then
    cat "$tmp/idp.err" >&2
    die "the IdP died during the run"
fi
# oidc-provider's start-up warnings (runtime version, in-memory adapter) are expected.
if grep -v '^oidc-provider WARNING:' "$tmp/idp.err" >"$tmp/idp.err.rest" && [ -s "$tmp/idp.err.rest" ]; then
    echo "IdP stderr:" >&2
    head -c 3000 "$tmp/idp.err.rest" >&2
fi
[ "$failed" -eq 0 ] || die "$failed driver(s) failed"
