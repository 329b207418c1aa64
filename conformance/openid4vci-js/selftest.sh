#!/usr/bin/env bash
# End-to-end check of vdc's OpenID4VCI issuer with the independent wallet
# driver wallet.mjs (@openid4vc/openid4vci + @openid4vc/oauth2 + @sd-jwt/sd-jwt-vc).
#
# By default it builds and starts `vdc serve --demo` on a free 127.0.0.1 port
# with a fresh temporary data dir and a fixed admin key, creates offers through
# the management API, runs the driver on each and checks its answers; the
# server is stopped on exit. Exit 0 iff every case passed.
#
# Environment:
#   VDC_BASE_URL   use an already running server at this base URL instead
#                  (then VDC_ADMIN_KEY must be its admin key); nothing is started
#   VDC_ADMIN_KEY  admin key to start the server with (default: a fixed test key)
#   VDC_BIN        vdc binary to run instead of building one with cargo
#   CARGO_TARGET_DIR  honoured when building
# Needs: node >= 20, npm (conformance/setup.sh), curl, cargo (unless VDC_BIN/VDC_BASE_URL).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf="$(cd "$here/.." && pwd)"
repo="$(cd "$conf/.." && pwd)"
die() {
    echo "openid4vci-js/selftest.sh: error: $*" >&2
    exit 1
}
command -v curl >/dev/null 2>&1 || die "curl not found"
command -v node >/dev/null 2>&1 || die "node not found"

# Only the npm part of setup is needed; setup.sh also does Python, which is cheap when current.
"$conf/setup.sh"

ADMIN_KEY="${VDC_ADMIN_KEY:-vdc-selftest-admin-key-0123456789abcdef}"
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

if [ -n "${VDC_BASE_URL:-}" ]; then
    base="${VDC_BASE_URL%/}"
    [ -n "${VDC_ADMIN_KEY:-}" ] || die "VDC_BASE_URL given: set VDC_ADMIN_KEY to that server's admin key"
else
    # shellcheck source=../server.sh
    . "$conf/server.sh"
    start_vdc
fi

# The library falls back to other well-known locations (and even builds AS metadata from a
# token_endpoint in the issuer metadata), so the spec locations are fetched here directly.
issuer_md="$(curl -fsS -H 'Accept: application/json' "$base/.well-known/openid-credential-issuer/issuers/demo")" \
    || die "no Credential Issuer metadata at the OID4VCI 1.0 §12.2.2 location"
as_md="$(curl -fsS -H 'Accept: application/json' "$base/.well-known/oauth-authorization-server/issuers/demo")" \
    || die "no RFC 8414 AS metadata at $base/.well-known/oauth-authorization-server/issuers/demo"

offers="$base/api/v1/issuers/demo/offers"
make_offer() { # $1 = JSON body; prints the 201 response
    curl -fsS -X POST "$offers" -H "Authorization: Bearer $ADMIN_KEY" \
        -H 'Content-Type: application/json' --data "$1" \
        || die "creating an offer failed: POST $offers"
}
wallet() { # $1 = request JSON; prints the driver's answer line
    # A crash (exit 1) still prints a JSON line; the checks below report it.
    printf '%s' "$1" | node "$here/wallet.mjs" || true
}

with_tx='{"credential_configuration_ids":["EmployeeBadge"],"claims":{"EmployeeBadge":{"given_name":"Ada","family_name":"Lovelace","employee_id":"E-1","department":"Engines"}},"tx_code":{"length":6}}'
without_tx='{"credential_configuration_ids":["EmployeeBadge"],"claims":{"EmployeeBadge":{"given_name":"Grace","employee_id":"E-2"}}}'

o1="$(make_offer "$with_tx")"
o2="$(make_offer "$without_tx")"
o3="$(make_offer "$with_tx")"
o4="$(make_offer "$with_tx")"
o5="$(make_offer "$without_tx")"
o6="$(make_offer "$without_tx")"
o7="$(make_offer "$with_tx")"

req() { # $1 = offer response, $2 = tx_code mode: offer|null|wrong, $3 = allow_http
    node -e '
      const [o, mode, allow] = process.argv.slice(1);
      const r = JSON.parse(o);
      const tx = mode === "offer" ? r.tx_code : mode === "wrong" ? (r.tx_code === "000000" ? "111111" : "000000") : null;
      process.stdout.write(JSON.stringify({ offer_uri: r.offer_uri, tx_code: tx, allow_http: allow === "true" }));
    ' "$1" "$2" "$3"
}

by_value() { # $1 = offer response; the same request with the offer passed by value (§4.1.2)
    node -e '
      const r = JSON.parse(process.argv[1]);
      process.stdout.write(JSON.stringify({
        offer_uri: "openid-credential-offer://?credential_offer=" + encodeURIComponent(JSON.stringify(r.credential_offer)),
        tx_code: r.tx_code, allow_http: true }));
    ' "$1"
}

a1="$(wallet "$(req "$o1" offer true)")"
a2="$(wallet "$(req "$o2" null true)")"
a2b="$(wallet "$(req "$o2" null true)")" # same offer again: pre-authorized code already used
a3="$(wallet "$(req "$o3" null true)")"
a4="$(wallet "$(req "$o4" wrong true)")"
a5="$(wallet "$(req "$o5" null false)")"
a6="$(wallet "$(req "$o6" wrong true)")" # tx_code sent although the offer has none
a7="$(wallet "$(by_value "$o7")")"

node - "$issuer_md" "$as_md" "$o1" "$a1" "$a2" "$a2b" "$a3" "$a4" "$a5" "$a6" "$a7" <<'JS'
const [issuerMd, asMd, o1, a1, a2, a2b, a3, a4, a5, a6, a7] = process.argv.slice(2).map((s, i) => {
  try { return JSON.parse(s); } catch { console.log(`  FAIL  answer ${i} is not JSON: ${s.slice(0, 300)}`); process.exit(1); }
});
let passed = 0, failed = 0;
const check = (name, cond, detail) => {
  if (cond) { passed++; console.log(`  ok    ${name}`); }
  else { failed++; console.log(`  FAIL  ${name}  ${JSON.stringify(detail).slice(0, 1500)}`); }
};
const STEPS = ["resolve_offer", "metadata", "token", "nonce", "credential", "verify"];
const VCT = "https://vdc.example/vct/employee-badge";
const flowOk = (name, a, want) => {
  check(`${name}: ok`, a.ok === true, a);
  if (a.ok !== true) return;
  check(`${name}: all steps`, JSON.stringify(a.steps) === JSON.stringify(STEPS), a.steps);
  check(`${name}: format dc+sd-jwt`, a.format === "dc+sd-jwt", a.format);
  check(`${name}: one compact SD-JWT`, Array.isArray(a.credentials) && a.credentials.length === 1 && /^[\w-]+\.[\w-]+\.[\w-]+~/.test(a.credentials[0]), a.credentials);
  check(`${name}: vct`, a.claims.vct === VCT, a.claims.vct);
  check(`${name}: iss is the credential issuer`, a.claims.iss === a.credential_issuer && a.credential_issuer.endsWith("/issuers/demo"), a.claims.iss);
  const cnf = (a.claims.cnf && a.claims.cnf.jwk) || {};
  check(`${name}: cnf is the holder key`, ["kty", "crv", "x", "y"].every((m) => typeof cnf[m] === "string" && cnf[m] === a.holder_jwk[m]), a.claims.cnf);
  // The library guesses the version: "V1" needs some configuration with credential_metadata;
  // "Draft15" (dc+sd-jwt without it) sends the same 1.0 request shape. Older guesses would not.
  check(`${name}: issuer metadata read as 1.0-shaped (V1/Draft15)`, ["V1", "Draft15"].includes(a.metadata_version), a.metadata_version);
  for (const [k, v] of Object.entries(want)) check(`${name}: claim ${k}`, a.claims[k] === v, a.claims[k]);
};
const issuerId = issuerMd.credential_issuer;
check("issuer metadata: credential_issuer is {base}/issuers/demo", typeof issuerId === "string" && issuerId.endsWith("/issuers/demo"), issuerId);
check("issuer metadata: nonce_endpoint present", typeof issuerMd.nonce_endpoint === "string", issuerMd.nonce_endpoint);
check("AS metadata: issuer equals the Credential Issuer Identifier", asMd.issuer === issuerId, asMd.issuer);
check("AS metadata: token_endpoint present", typeof asMd.token_endpoint === "string", asMd.token_endpoint);
// Spec: OID4VCI 1.0 §12.3 (default false); the wallet below is served anonymously.
check("AS metadata: pre-authorized_grant_anonymous_access_supported is true", asMd["pre-authorized_grant_anonymous_access_supported"] === true, asMd);
flowOk("with tx_code", a1, { given_name: "Ada", family_name: "Lovelace", employee_id: "E-1", department: "Engines" });
flowOk("offer by value", a7, { given_name: "Ada", employee_id: "E-1" });
check("offer with tx_code announced it", typeof o1.tx_code === "string" && o1.tx_code.length === 6 && o1.credential_offer.grants["urn:ietf:params:oauth:grant-type:pre-authorized_code"].tx_code !== undefined, o1);
flowOk("without tx_code", a2, { given_name: "Grace", employee_id: "E-2" });
check("without tx_code: claims not in the offer are absent", a2.ok === true && !("family_name" in a2.claims) && !("department" in a2.claims), a2.claims);
check("second redemption of the same offer fails", a2b.ok === false && ["resolve_offer", "token"].includes(a2b.step), a2b);
check("tx_code required but not given: fails at token", a3.ok === false && a3.step === "token", a3);
check("wrong tx_code: invalid_grant at token", a4.ok === false && a4.step === "token" && a4.error_code === "invalid_grant", a4);
// Spec: OID4VCI 1.0 §6.3: a Transaction Code the AS does not expect is invalid_request.
check("unexpected tx_code: invalid_request at token", a6.ok === false && a6.step === "token" && a6.error_code === "invalid_request", a6);
check("http without allow_http: refused at resolve_offer", a5.ok === false && a5.step === "resolve_offer", a5);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
JS
