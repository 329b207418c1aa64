#!/usr/bin/env bash
# The TypeScript SDK's checks (part of scripts/test.sh): installs the pinned packages
# (package-lock.json, `npm ci`), fails when src/schema.d.ts is stale against
# docs/openapi.json (`npm run check-generated`), type-checks and builds (`tsc`), and runs
# the end-to-end test against a real `vdc serve` that the test starts itself.
#
#   sdks/typescript/run-tests.sh
#
# Environment: VDC_BIN (a vdc binary instead of `cargo build -p vdc`), CARGO_TARGET_DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
die() {
    echo "sdks/typescript/run-tests.sh: error: $*" >&2
    exit 1
}
command -v node >/dev/null 2>&1 || die "node not found (need Node.js >= 20)"
command -v npm >/dev/null 2>&1 || die "npm not found"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || die "node is $(node -v); need >= 20"

if [ -z "${VDC_BIN:-}" ]; then
    command -v cargo >/dev/null 2>&1 || die "cargo not found (or set VDC_BIN)"
    echo "building vdc (cargo build -p vdc) ..." >&2
    # The artifact path comes from cargo itself (honours CARGO_TARGET_DIR and config).
    VDC_BIN="$(cd "$repo" && cargo build -q --locked -p vdc --bin vdc --message-format=json-render-diagnostics \
        | node -e '
            let exe = "";
            require("readline").createInterface({ input: process.stdin }).on("line", (l) => {
              try {
                const m = JSON.parse(l);
                if (m.reason === "compiler-artifact" && m.target && m.target.name === "vdc" && m.executable) exe = m.executable;
              } catch {}
            }).on("close", () => process.stdout.write(exe));
        ')" || die "cargo build -p vdc failed"
fi
[ -x "$VDC_BIN" ] || die "vdc binary not found at $VDC_BIN"
export VDC_BIN

cd "$here"
# --ignore-scripts: no install hook of any dependency runs.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed in sdks/typescript"
npm run --silent check-generated
npm run --silent build
npm test
