#!/usr/bin/env bash
# OpenID4VP 1.0 over the W3C Digital Credentials API (Appendix A) of the running server,
# judged by an independent wallet: dcapi/suite.mjs has @openid4vc/openid4vp 0.4.6 resolve
# every `dc_api_request` vdc's verifier hands a page (unsigned and signed `dc_api`, unsigned
# and signed `dc_api.jwt`, a HAIP-mode x509_hash verifier) for the page's origin — x5c chain
# to the verifier's anchor, client id prefix, expected_origins, verifier_info,
# transaction_data — and build the answer (the library's ECDH-ES JWE via jose 6.2.19 for
# dc_api.jwt; @sd-jwt/sd-jwt-vc KB-JWT for origin:<origin> with transaction_data_hashes), then
# posts it to POST /api/v1/verifiers/{v}/requests/{id}/dc-api-response and asserts the exact
# result, plus the refusals (another origin, a signed request replayed to an origin not in
# expected_origins, a KB-JWT for another origin or for the client_id, missing or foreign
# transaction_data_hashes, another request's nonce, plaintext to dc_api.jwt). The SD-JWT VC
# comes from the demo issuer through the @openid4vc/openid4vci wallet.
# Needs VDC_BASE_URL and VDC_ADMIN_KEY (conformance/run.sh sets both). Prints a PASS/FAIL line
# per check; exit non-zero on any FAIL.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf="$(cd "$here/.." && pwd)"
die() {
    echo "suites/dcapi.sh: error: $*" >&2
    exit 1
}
[ -n "${VDC_BASE_URL:-}" ] || die "VDC_BASE_URL not set"
[ -n "${VDC_ADMIN_KEY:-}" ] || die "VDC_ADMIN_KEY not set"
[ -d "$conf/node_modules/@openid4vc/openid4vp" ] || die "conformance deps missing (run conformance/setup.sh)"

status=0
timeout 300 node "$conf/dcapi/suite.mjs" || status=$?
[ "$status" -eq 0 ] || die "dcapi/suite.mjs failed (exit $status)"
