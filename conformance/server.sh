# Sourced by the conformance scripts: builds (or takes) the vdc binary and starts
# `vdc serve --demo` on a free 127.0.0.1 port with a fresh data dir and a fixed admin key.
#
# Needs, set by the caller: repo (workspace root), tmp (a fresh temp dir), ADMIN_KEY, and a
# `die` function. Honours VDC_BIN (a binary to run instead of `cargo build -p vdc`) and
# CARGO_TARGET_DIR. Sets: base (the server's URL) and server_pid. The caller stops the
# server (kill "$server_pid") in its EXIT trap.

start_vdc() {
    local bin
    if [ -n "${VDC_BIN:-}" ]; then
        bin="$VDC_BIN"
    else
        command -v cargo >/dev/null 2>&1 || die "cargo not found (or set VDC_BIN / VDC_BASE_URL)"
        echo "building vdc (cargo build -p vdc) ..." >&2
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
    # The suites that run the binary themselves (suites/dcql.sh) take the same one.
    export VDC_BIN="$bin"
    local port
    port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
    base="http://127.0.0.1:$port"
    mkdir -p "$tmp/data"
    # A fresh data dir: new SQLite store, KEK and issuer keys; no stray VDC_* settings.
    env -u VDC_DATABASE_URL -u VDC_PUBLIC_URL -u VDC_KEK -u VDC_LISTEN \
        VDC_DATA_DIR="$tmp/data" VDC_ADMIN_KEY="$ADMIN_KEY" \
        "$bin" serve --demo --listen "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
    server_pid=$!
    local meta="$base/.well-known/openid-credential-issuer/issuers/demo"
    for _ in $(seq 1 300); do
        if curl -fsS -o /dev/null "$meta" 2>/dev/null; then break; fi
        kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; die "vdc exited early"; }
        sleep 0.2
    done
    curl -fsS -o /dev/null "$meta" || { cat "$tmp/server.log" >&2; die "vdc did not serve $meta within 60 s"; }
    echo "vdc serving $base (pid $server_pid, data dir $tmp/data)" >&2
}
