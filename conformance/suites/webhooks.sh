#!/usr/bin/env bash
# Webhook deliveries of the running server verify with the Standard Webhooks reference
# library (npm standardwebhooks). Needs VDC_WEBHOOK_RECEIVER_PORT, an origin the server
# was started with in VDC_OUTBOUND_ALLOW (conformance/run.sh does both).
set -euo pipefail
exec node "$(dirname "${BASH_SOURCE[0]}")/webhooks.mjs"
