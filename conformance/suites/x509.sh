#!/usr/bin/env bash
# Every X.509 certificate the running server serves (verifier request-object x5c and PEMs,
# issuer x5c in metadata, credentials and Status List Tokens) parses with PyPI
# `cryptography`, a strict DER parser, with every extension read; and a Status List
# Token carries the credential's `iss` and the issuer's `x5c` (x509-python/check_certs.py).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$here/.venv/bin/python" "$here/x509-python/check_certs.py"
