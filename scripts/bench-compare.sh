#!/usr/bin/env bash
# Issue 11 ("Throughput"): vdc against the single-threaded Node peer (conformance/peer/),
# side by side, driven by the same load generator (`vdc bench issuance` / `vdc bench
# presentation`). For holders in 16 and 64 and flows issuance and presentation it runs
#   (a) vdc on Postgres (a fresh database per run), (b) vdc on SQLite (a fresh data dir per
#   run), (c) the peer (a fresh process per run: it keeps everything in memory),
# each server pinned to one core (`taskset -c $SERVER_CPU`, default 0) and the bench on
# another (`taskset -c $BENCH_CPU`, default 1), and prints a markdown table of flows/s, p99
# and the ratio vdc/peer. Postgres itself is the shared cluster at 127.0.0.1:5432 (user
# postgres, trust auth) and is not pinned: its backends run wherever the kernel puts them.
#
# Environment:
#   VDC_BIN   a vdc binary (default: $CARGO_TARGET_DIR/release/vdc, else target/release/vdc)
#   FLOWS     issuance flows and presentations per run (default 3000)
#   HOLDERS   the holder counts (default "16 64"); KINDS the flows (default "issuance presentation")
#   PG_HOST, PG_PORT, PG_USER   Postgres (default 127.0.0.1, 5432, postgres)
#   SERVER_CPU, BENCH_CPU       the cores (default 0 and 1)
#   KEEP=1    keep the temp dir (server and bench logs)
# Needs: node >= 20 (conformance/setup.sh installs the peer's npm packages), psql, curl,
# taskset, /usr/bin/time, python3 and at least two cores.
#
# If `vdc bench issuance --help` (resp. `presentation --help`) lists `--db-url` /
# `--server-pid`, the vdc runs pass the database URL and the server's pid; the peer runs never.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

bin="${VDC_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/vdc}"
flows="${FLOWS:-3000}"
holders_list="${HOLDERS:-16 64}"
kinds="${KINDS:-issuance presentation}"
pg_host="${PG_HOST:-127.0.0.1}"
pg_port="${PG_PORT:-5432}"
pg_user="${PG_USER:-postgres}"
server_cpu="${SERVER_CPU:-0}"
bench_cpu="${BENCH_CPU:-1}"

die() { echo "bench-compare: $*" >&2; exit 1; }
say() { echo "bench-compare: $*" >&2; }
for tool in node psql curl taskset python3 getconf; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[ -x "$bin" ] || die "vdc binary not found at $bin (set VDC_BIN)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found"
[ "$(nproc --all)" -ge 2 ] || die "needs two cores (server on $server_cpu, bench on $bench_cpu)"
bash conformance/setup.sh >/dev/null || die "conformance/setup.sh failed (the peer's npm packages)"

tmp="$(mktemp -d /tmp/vdc-bench-compare.XXXXXX)"
admin_key="bench-compare-$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
server_pid=""
db=""
drop_db() {
    [ -n "$db" ] || return 0
    psql -X -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    db=""
}
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
cleanup() {
    local rc=$?
    stop_server
    drop_db
    if [ "${KEEP:-}" = 1 ] || [ "$rc" -ne 0 ]; then
        say "logs kept in $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits until the server answers the demo issuer's metadata and the demo verifier.
wait_ready() { # base, log
    local meta="$1/.well-known/openid-credential-issuer/issuers/demo"
    for _ in $(seq 1 300); do
        if curl -fsS -o /dev/null "$meta" 2>/dev/null &&
            curl -fsS -o /dev/null -H "Authorization: Bearer $admin_key" "$1/api/v1/verifiers/demo" 2>/dev/null; then
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || { cat "$2" >&2; die "the server exited early"; }
        sleep 0.1
    done
    cat "$2" >&2
    die "the server did not answer $meta within 30 s"
}

start_vdc() { # backend (postgres|sqlite), run name -> sets server_pid, base, db_url
    local port dir log
    port="$(free_port)"
    dir="$tmp/$2-data"
    log="$tmp/$2-server.log"
    mkdir -p "$dir"
    if [ "$1" = postgres ]; then
        db="vdc_bench_$$_${2//[^a-z0-9]/_}"
        psql -X -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -c "DROP DATABASE IF EXISTS $db" \
            -c "CREATE DATABASE $db" >/dev/null || die "cannot create database $db"
        db_url="postgres://$pg_user@$pg_host:$pg_port/$db"
    else
        db_url="sqlite://$dir/vdc.sqlite"
    fi
    base="http://127.0.0.1:$port"
    env -u VDC_PUBLIC_URL -u VDC_KEK -u VDC_LISTEN -u VDC_CONFIG \
        VDC_DATABASE_URL="$db_url" VDC_DATA_DIR="$dir" VDC_ADMIN_KEY="$admin_key" VDC_LOG=warn \
        taskset -c "$server_cpu" "$bin" serve --demo --listen "127.0.0.1:$port" >"$log" 2>&1 &
    server_pid=$!
    wait_ready "$base" "$log"
}

start_peer() { # run name -> sets server_pid, base
    local port log
    port="$(free_port)"
    log="$tmp/$1-server.log"
    base="http://127.0.0.1:$port"
    ADMIN_KEY="$admin_key" taskset -c "$server_cpu" node conformance/peer/server.mjs --port "$port" >"$log" 2>&1 &
    server_pid=$!
    wait_ready "$base" "$log"
}

# Optional options of the bench, passed to vdc runs only when the binary has them.
bench_extra() { # kind -> prints the options
    local help
    help="$("$bin" bench "$1" --help 2>/dev/null || true)"
    local out=()
    # Transactions are counted on Postgres only (txid_current, pg_stat_database).
    [[ $db_url == postgres* ]] && grep -q -- '--db-url' <<<"$help" && out+=(--db-url "$db_url")
    grep -q -- '--server-pid' <<<"$help" && out+=(--server-pid "$server_pid")
    echo "${out[@]+"${out[@]}"}"
}

# CPU seconds (user + system, all threads) a process used so far.
cpu_secs() { # pid
    awk -v tck="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / tck }' "/proc/$1/stat"
}

# Runs one bench; prints "flows_per_s p99_ms failed server_cpu% bench_cpu%" ("- - ?" for
# the first three when no report line came) and the Postgres backends' share ("-" if none). The CPU figures are the share of one core the
# server and the bench used over the bench's wall time: a server well below 100 % was not
# the bottleneck of its run.
run_bench() { # kind, holders, run name, is_vdc
    local kind="$1" holders="$2" log="$tmp/$3-bench.log" times="$tmp/$3-bench.time" extra=() rc=0 before after
    if [ "$4" = 1 ]; then
        read -r -a extra <<<"$(bench_extra "$kind")"
    fi
    local count_opt=--flows
    [ "$kind" = presentation ] && count_opt=--presentations
    before="$(cpu_secs "$server_pid")"
    env -u VDC_BIN VDC_ADMIN_KEY="$admin_key" /usr/bin/time -f '%e %U %S' -o "$times" \
        taskset -c "$bench_cpu" "$bin" bench "$kind" --url "$base" \
        --holders "$holders" "$count_opt" "$flows" "${extra[@]+"${extra[@]}"}" >"$log" 2>&1 || rc=$?
    after="$(cpu_secs "$server_pid")"
    # vdc on Postgres: what its Postgres backends used (all of their life; they open with the
    # pool, so this is nearly all during the bench).
    local pg_cpu=-
    if [ -n "$db" ]; then
        pg_cpu=0
        for pid in $(psql -X -At -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres \
            -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db'" 2>/dev/null); do
            pg_cpu="$(python3 -c 'import sys; print(float(sys.argv[1]) + float(sys.argv[2]))' "$pg_cpu" "$(cpu_secs "$pid" 2>/dev/null || echo 0)")"
        done
    fi
    python3 - "$log" "$rc" "$times" "$before" "$after" "$pg_cpu" <<'EOF2'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
m = re.search(r"(\d+) flows in ([\d.]+) s: (\d+) flows/s, p50 ([\d.]+) ms, p99 ([\d.]+) ms, (\d+) failed", text)
try:
    wall, user, system = (float(x) for x in open(sys.argv[3]).read().split()[-3:])
except Exception:
    wall, user, system = 0.0, 0.0, 0.0
server = float(sys.argv[5]) - float(sys.argv[4])
# The bench's wall time includes its setup (discovery; for presentations one issuance per
# holder); the server's CPU is measured over the same span.
pct = lambda cpu: f"{100 * cpu / wall:.0f}" if wall > 0 else "?"
pg = "-" if sys.argv[6] == "-" else pct(float(sys.argv[6]))
if not m or sys.argv[2] != "0":
    print("-", "-", "?", pct(server), pct(user + system), pg)
else:
    done, secs = int(m.group(1)), float(m.group(2))
    print(f"{done / secs:.1f}", m.group(5), m.group(6), pct(server), pct(user + system), pg)
EOF2
}

# One cell: "490/s, p99 160.0 ms" (+ ", N failed").
cell() { # fps p99 failed
    if [ "$1" = - ]; then echo "error"; return; fi
    local c
    c="$(printf '%.0f/s, p99 %s ms' "$1" "$2")"
    [ "$3" != 0 ] && c="$c, $3 failed"
    echo "$c"
}
ratio() { # vdc_fps peer_fps
    python3 -c 'import sys
a, b = sys.argv[1], sys.argv[2]
print("" if "-" in (a, b) or float(b) == 0 else f" ({float(a) / float(b):.1f}× peer)")' "$1" "$2"
}

say "vdc: $bin ($("$bin" --version 2>/dev/null || echo '?')); node $(node -v); $flows flows per run"
say "servers on core $server_cpu, bench on core $bench_cpu; Postgres at $pg_host:$pg_port (not pinned)"
rows=()
cpu_rows=()
failures=0
for kind in $kinds; do
    for holders in $holders_list; do
        declare -A fps=() p99=() failed=()
        for backend in postgres sqlite peer; do
            run="$kind-$holders-$backend"
            say "$run: starting the server"
            if [ "$backend" = peer ]; then
                start_peer "$run"
                is_vdc=0
            else
                start_vdc "$backend" "$run"
                is_vdc=1
            fi
            say "$run: bench $kind --holders $holders ($flows)"
            read -r f p x sc bc pc < <(run_bench "$kind" "$holders" "$run" "$is_vdc")
            fps[$backend]=$f p99[$backend]=$p failed[$backend]=$x
            [ "$pc" = - ] && pc="" || pc="$pc %"
            cpu_rows+=("| $kind | $holders | $backend | $sc % | $pc | $bc % |")
            say "$run: $(tail -n 1 "$tmp/$run-bench.log")"
            if [ "$x" != 0 ]; then
                failures=1
                sed -n '1,5p' "$tmp/$run-bench.log" | sed "s/^/  $run: /" >&2
            fi
            stop_server
            drop_db
        done
        rows+=("| $kind | $holders | $(cell "${fps[postgres]}" "${p99[postgres]}" "${failed[postgres]}")$(ratio "${fps[postgres]}" "${fps[peer]}") | $(cell "${fps[sqlite]}" "${p99[sqlite]}" "${failed[sqlite]}")$(ratio "${fps[sqlite]}" "${fps[peer]}") | $(cell "${fps[peer]}" "${p99[peer]}" "${failed[peer]}") |")
        unset fps p99 failed
    done
done

echo
echo "$flows flows per run; each server on core $server_cpu (\`taskset -c $server_cpu\`), the bench on core $bench_cpu; flows/s = completed / wall time."
echo
echo "| flow | holders | vdc on Postgres | vdc on SQLite | peer |"
echo "| --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "CPU used during each bench (share of one core, over the bench's wall time including its setup):"
echo
echo "| flow | holders | server | server CPU (core $server_cpu) | its Postgres backends | bench CPU (core $bench_cpu) |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${cpu_rows[@]}"
[ "$failures" = 0 ] || say "some runs had failed flows or no report (logs: KEEP=1)"
