#!/usr/bin/env bash
# Signed Credential Issuer Metadata (OID4VCI 1.0 §12.2.3, HAIP 1.0 §4.1) of a HAIP-mode issuer
# with a chain made by vdc, resolved by @openid4vc/openid4vci with an x5c key resolution
# against the issuer's trust anchor (openid4vci-js/signed_metadata.mjs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here" && exec node "$here/openid4vci-js/signed_metadata.mjs"
