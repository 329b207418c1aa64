#!/usr/bin/env bash
# The test command: every test of the workspace, against real SQLite and Postgres and the
# pinned third-party implementations in conformance/, the pages in Debian's Chromium
# (tests/browser/), the fuzz targets for a bounded time (docs/FUZZING.md), and R1/R2 under
# faults (scripts/faults.sh). Installs and starts what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-postgres.sh
bash conformance/setup.sh
scripts/ensure-chromium.sh
scripts/ensure-softhsm.sh
# SoftHSM2 tokens of the HSM tests (crates/vdc-pkcs11, it/hsm.rs): a private directory the
# module is pointed at, never the system token store; removed when the tests end.
softhsm_dir="$(mktemp -d "${TMPDIR:-/tmp}/vdc-softhsm.XXXXXX")"
trap 'rm -rf "$softhsm_dir"' EXIT
mkdir -p "$softhsm_dir/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$softhsm_dir/tokens" > "$softhsm_dir/softhsm2.conf"
export SOFTHSM2_CONF="$softhsm_dir/softhsm2.conf"
# The user PIN of those test tokens, read as an operator's VDC_PKCS11_PIN* variable.
export VDC_PKCS11_PIN_TEST="test-user-pin-4711"
bash tests/browser/setup.sh

export VDC_PG_URL="${VDC_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export SQLX_OFFLINE="${SQLX_OFFLINE:-true}"
cargo test --workspace --locked "$@"

# Fuzzing: every parser of untrusted input for a bounded time, then the third-party suites
# against a freshly started `vdc serve --demo` (conformance/run.sh), then the TypeScript SDK.
# All are skipped only when the caller narrowed the cargo tests (arguments given).
if [ "$#" -eq 0 ]; then
    scripts/fuzz.sh
    conformance/run.sh
    # The TypeScript SDK: fails when its generated client is stale against docs/openapi.json,
    # then drives a real `vdc serve` through it (sdks/typescript/README.md).
    sdks/typescript/run-tests.sh
    # R1/R2 under faults (Postgres restarted, vdc killed) under a bounded load, on a private
    # Postgres cluster. Last, never beside the cargo tests: it stops a Postgres server.
    scripts/faults.sh
fi
