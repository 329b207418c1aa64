#!/usr/bin/env bash
# The Token Status List in CWT format (draft-ietf-oauth-status-list §5.2, §8.1 content
# negotiation): PyPI `cwt` 3.3.0 verifies the list vdc serves for
# `Accept: application/statuslist+cwt` with the issuer's published JWK and reads a revoked
# entry (status-cwt-python/check_status_cwt.py).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$here/.venv/bin/python" "$here/status-cwt-python/check_status_cwt.py"
