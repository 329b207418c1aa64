#!/usr/bin/env bash
# ISO/IEC 18013-5 mdoc (mso_mdoc) issuance and presentation of the running server, judged by
# independent implementations (mdoc/suite.mjs): npm @owf/mdoc 0.6.0 verifies the issued
# IssuerSigned (issuerAuth signature, value digests, validity, DS chain to GET .../iaca.pem),
# issues a foreign mDL under its own IACA and builds the DeviceResponses (OID4VP 1.0 App.
# B.2.6.1 OpenID4VPHandover session transcript, direct_post); PyPI pymdoccbor 1.4.0
# (mdoc/pymdoc_verify.py) verifies the MSO signature and every digest. Refusals: a foreign
# mDL at a verifier that does not trust its IACA, a DeviceResponse over another nonce, an
# element altered after issuance, the vdc-issued mDL after revocation (MSO status, CWT list).
# Over the W3C Digital Credentials API (dc-api-response, origin https://rp.example): `dc_api`
# and `dc_api.jwt` (jose JWE) verified with the B.2.6.2 OpenID4VPDCAPIHandover transcript
# (@owf/mdoc's and the suite's own bytes, both checked against the spec's example vector);
# refused: another origin's transcript, the B.2.6.1 redirect transcript, a null thumbprint
# for `dc_api.jwt`.
# Needs VDC_BASE_URL and VDC_ADMIN_KEY (conformance/run.sh sets them) and openssl (the
# suite makes its IACA and Document Signer certificates with it). Prints a PASS/FAIL line per
# step; exit non-zero on any FAIL.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf="$(cd "$here/.." && pwd)"
die() {
    echo "suites/mdoc.sh: error: $*" >&2
    exit 1
}
[ -n "${VDC_BASE_URL:-}" ] || die "VDC_BASE_URL not set"
[ -n "${VDC_ADMIN_KEY:-}" ] || die "VDC_ADMIN_KEY not set"
command -v openssl >/dev/null 2>&1 || die "openssl not found (the suite makes its X.509 certificates with it)"
[ -x "$conf/.venv/bin/python" ] || die "conformance/.venv missing (run conformance/setup.sh)"
"$conf/.venv/bin/python" -c 'import pymdoccbor.mso.verifier' 2>/dev/null \
    || die "pymdoccbor does not import from conformance/.venv (run conformance/setup.sh)"

status=0
timeout 300 node "$conf/mdoc/suite.mjs" || status=$?
[ "$status" -eq 0 ] || die "mdoc/suite.mjs failed (exit $status)"
