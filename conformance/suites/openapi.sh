#!/usr/bin/env bash
# The running server's OpenAPI document (GET /api/v1/openapi.json, no key needed) validates
# with the independent @apidevtools/swagger-parser (openapi-js/validate.mjs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
answer="$(curl -fsS "$VDC_BASE_URL/api/v1/openapi.json" | node "$here/openapi-js/validate.mjs")" || {
    echo "  FAIL  swagger-parser rejects the served document: $answer"
    exit 1
}
echo "  ok    @apidevtools/swagger-parser accepts the served OpenAPI document: $answer"
