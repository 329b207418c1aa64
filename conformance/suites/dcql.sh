#!/usr/bin/env bash
# DCQL evaluation (OpenID4VP 1.0 §6, §7), differentially: npm `dcql` 3.0.0 and vdc
# (`vdc dcql match`, the verifier's own parse and match functions) evaluate every case of
# dcql/corpus.json (queries against decoded credentials: values, wildcard and index paths,
# claim_sets, credential_sets, mdoc namespaces, meta, holder binding, trusted_authorities,
# invalid queries); every disagreement must be one listed in dcql/known-differences.json
# with the spec section that decides it (dcql/differential.mjs). Needs no server.
#
# Environment: VDC_BIN (the vdc binary; else `cargo build -p vdc` as conformance/server.sh
# does).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf="$(cd "$here/.." && pwd)"
repo="$(cd "$conf/.." && pwd)"
die() {
    echo "suites/dcql.sh: error: $*" >&2
    exit 1
}
[ -d "$conf/node_modules/dcql" ] || die "npm dcql missing (run conformance/setup.sh)"
bin="${VDC_BIN:-}"
if [ -z "$bin" ]; then
    command -v cargo >/dev/null 2>&1 || die "cargo not found (or set VDC_BIN)"
    # The artifact path comes from cargo itself (honours CARGO_TARGET_DIR and config).
    bin="$(cd "$repo" && cargo build -q -p vdc --bin vdc --message-format=json-render-diagnostics \
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
[ -x "$bin" ] || die "vdc binary not found at $bin"
VDC_BIN="$bin" exec node "$conf/dcql/differential.mjs"
