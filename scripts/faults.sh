#!/usr/bin/env bash
# Faults: R1/R2 shown under a running load (docs/SECURITY.md, "R1/R2 under faults").
#
# Two phases, each on a fresh database and a fresh `vdc serve --demo` on Postgres, each
# driven by a bounded `vdc bench issuance` (FAULTS_FLOWS flows, at most FAULTS_DURATION s,
# FAULTS_HOLDERS concurrent holders) that retries a transiently failed step with the same
# code or proof and records every request it made (--record):
#   1. postgres restart: once a third of the flows delivered their credential, Postgres is
#      stopped (fast shutdown), left down FAULTS_OUTAGE s, and started again;
#   2. vdc crash: once a third of the flows delivered, vdc gets SIGKILL and is started
#      again on the same database and data dir.
# scripts/faults_check.py then compares what the client received with the rows of the store
# and prints the figures; any violation makes this script exit 1.
#
# Postgres: by default a private throw-away cluster (initdb into a temp dir, port
# FAULTS_PG_PORT, default 5544), so restarting it disturbs no other test. With
# FAULTS_PG_CLUSTER="<version> <name>" (e.g. "15 main") it uses that existing Debian cluster
# instead and restarts it with pg_ctlcluster: never while other tests use it.
#
# Environment: VDC_BIN (a vdc binary; default: `cargo build -p vdc`, honouring
# CARGO_TARGET_DIR), FAULTS_PG_PORT, FAULTS_PG_CLUSTER, FAULTS_FLOWS (400), FAULTS_HOLDERS
# (8), FAULTS_DURATION (40), FAULTS_OUTAGE (3), FAULTS_BOUND_MS (5000: the longest a failed
# request to the token, nonce or credential endpoint may take), FAULTS_MGMT_BOUND_MS (7000:
# the same for the management API, which waits once more for its audit write; see
# docs/SECURITY.md), FAULTS_KEEP=1 (keep the temp dir with logs and records).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

flows="${FAULTS_FLOWS:-400}"
holders="${FAULTS_HOLDERS:-8}"
duration="${FAULTS_DURATION:-40}"
outage="${FAULTS_OUTAGE:-3}"
bound_ms="${FAULTS_BOUND_MS:-5000}"
mgmt_bound_ms="${FAULTS_MGMT_BOUND_MS:-7000}"
admin_key="faults-admin-key-0123456789"

die() { echo "faults: $*" >&2; exit 1; }
for tool in python3 psql curl; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

tmp="$(mktemp -d /tmp/vdc-faults.XXXXXX)"
chmod 755 "$tmp"
vdc_pid=""
bench_pid=""
pg_private=""
cleanup() {
    local rc=$?
    for pid in "$bench_pid" "$vdc_pid"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [ -n "$pg_private" ]; then
        as_postgres "$pg_bin/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1 || true
    elif [ -n "${pg_port:-}" ]; then
        for db in faults_restart faults_crash; do
            psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
                -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
        done
    fi
    if [ "${FAULTS_KEEP:-}" = 1 ] || [ "$rc" -ne 0 ]; then
        echo "faults: logs and records kept in $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT

# --- Postgres -----------------------------------------------------------------------
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$pg_port" 2>/dev/null; }
wait_pg() {
    for _ in $(seq 1 120); do pg_ready && return 0; sleep 0.25; done
    die "Postgres did not come up on port $pg_port"
}

if [ -n "${FAULTS_PG_CLUSTER:-}" ]; then
    read -r pg_version pg_name <<<"$FAULTS_PG_CLUSTER"
    pg_port="$(pg_lsclusters -h | awk -v v="$pg_version" -v n="$pg_name" '$1==v && $2==n {print $3}')"
    [ -n "$pg_port" ] || die "no Postgres cluster $FAULTS_PG_CLUSTER"
    pg_stop() { pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$pg_name" stop -m fast; }
    pg_start() { pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$pg_name" start; }
    pg_where="cluster $pg_version/$pg_name on port $pg_port"
else
    pg_port="${FAULTS_PG_PORT:-5544}"
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -x "$pg_bin/initdb" ] || die "no Postgres server binaries under /usr/lib/postgresql (scripts/ensure-postgres.sh installs them)"
    pg_ready && die "something already answers on port $pg_port (set FAULTS_PG_PORT)"
    mkdir "$tmp/pg"
    chown postgres "$tmp/pg" 2>/dev/null || true
    as_postgres "$pg_bin/initdb" -D "$tmp/pg" -U postgres -A trust -E UTF8 --no-sync >"$tmp/initdb.log" 2>&1 \
        || { cat "$tmp/initdb.log" >&2; die "initdb failed"; }
    pg_private=1
    pg_opts="-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$tmp/pg"
    pg_stop() { as_postgres "$pg_bin/pg_ctl" -D "$tmp/pg" -m fast -w stop >/dev/null; }
    pg_start() { as_postgres "$pg_bin/pg_ctl" -D "$tmp/pg" -o "$pg_opts" -l "$tmp/pg/server.log" -w start >/dev/null; }
    pg_start
    pg_where="private cluster $tmp/pg on port $pg_port"
fi
wait_pg
echo "faults: Postgres: $pg_where" >&2

# --- vdc ------------------------------------------------------------------------------
if [ -n "${VDC_BIN:-}" ]; then
    bin="$VDC_BIN"
else
    target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    cargo build -q -p vdc --bin vdc --locked
    bin="$target/debug/vdc"
fi
[ -x "$bin" ] || die "vdc binary not found at $bin"
vdc_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$vdc_port"

start_vdc() { # db, data dir, log
    env -u VDC_PUBLIC_URL -u VDC_KEK -u VDC_LISTEN -u VDC_BIN \
        VDC_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/$1" VDC_DATA_DIR="$2" \
        VDC_ADMIN_KEY="$admin_key" VDC_LOG=warn \
        "$bin" serve --demo --listen "127.0.0.1:$vdc_port" >>"$3" 2>&1 &
    vdc_pid=$!
    local meta="$base/.well-known/openid-credential-issuer/issuers/demo"
    for _ in $(seq 1 200); do
        curl -fsS -o /dev/null "$meta" 2>/dev/null && return 0
        kill -0 "$vdc_pid" 2>/dev/null || { cat "$3" >&2; die "vdc exited early"; }
        sleep 0.1
    done
    die "vdc did not serve $meta within 20 s"
}

start_bench() { # record file, log
    env -u VDC_BIN VDC_ADMIN_KEY="$admin_key" "$bin" bench issuance --url "$base" --holders "$holders" \
        --flows "$flows" --duration "$duration" --request-timeout 10 --retry-for 20 \
        --record "$1" >"$2" 2>&1 &
    bench_pid=$!
}

# Waits until the bench delivered a third of its flows (or ended).
wait_third() { # record file
    local want=$((flows / 3)) got
    for _ in $(seq 1 600); do
        got="$(grep -F '"step":"credential"' "$1" 2>/dev/null | grep -cF '"outcome":"ok"' || true)"
        [ "${got:-0}" -ge "$want" ] && return 0
        kill -0 "$bench_pid" 2>/dev/null || return 0
        sleep 0.05
    done
}

finish_bench() { # log
    local rc=0
    wait "$bench_pid" || rc=$?
    bench_pid=""
    sed 's/^/  bench: /' "$1"
    [ "$rc" -eq 0 ] || die "vdc bench exited with $rc"
}

dump() { # db, dir
    mkdir -p "$2"
    psql -X -q -At -F $'\t' -h 127.0.0.1 -p "$pg_port" -U postgres -d "$1" -c \
        "SELECT credential_id, offer_id, coalesce(holder_key_thumbprint, ''), coalesce(status_list_id, ''),
                coalesce(status_list_index::text, '')
         FROM issued_credentials WHERE issuer_id = 'demo'" >"$2/issued_credentials.tsv"
    psql -X -q -At -F $'\t' -h 127.0.0.1 -p "$pg_port" -U postgres -d "$1" -c \
        "SELECT list_id, idx, coalesce(credential_id, '') FROM status_entries WHERE issuer_id = 'demo'" \
        >"$2/status_entries.tsv"
    psql -X -q -At -F $'\t' -h 127.0.0.1 -p "$pg_port" -U postgres -d "$1" -c \
        "SELECT offer_id FROM access_tokens WHERE issuer_id = 'demo'" >"$2/access_tokens.tsv"
    psql -X -q -At -F $'\t' -h 127.0.0.1 -p "$pg_port" -U postgres -d "$1" -c \
        "SELECT encode(nonce_hash, 'hex'), coalesce(consumed_at::text, '') FROM c_nonces
         WHERE issuer_id = 'demo'" >"$2/c_nonces.tsv"
}

no_panics() { # log
    if grep -q 'panicked' "$1"; then
        grep 'panicked' "$1" >&2
        echo "  VIOLATION vdc panicked (see $1)"
        return 1
    fi
}

createdb() {
    psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
}

status=0
started_at=$SECONDS

# --- Phase 1: Postgres restart under load --------------------------------------------
createdb faults_restart
start_vdc faults_restart "$tmp/data-restart" "$tmp/vdc-restart.log"
start_bench "$tmp/restart.jsonl" "$tmp/bench-restart.log"
wait_third "$tmp/restart.jsonl"
echo "faults: stopping Postgres for $outage s under load" >&2
pg_stop
sleep "$outage"
pg_start
wait_pg
finish_bench "$tmp/bench-restart.log"
kill "$vdc_pid"; wait "$vdc_pid" 2>/dev/null || true; vdc_pid=""
dump faults_restart "$tmp/dump-restart"
python3 scripts/faults_check.py "postgres restart ($outage s down)" db "$tmp/restart.jsonl" \
    "$tmp/dump-restart" "$bound_ms" "$mgmt_bound_ms" || status=1
no_panics "$tmp/vdc-restart.log" || status=1

# --- Phase 2: kill -9 of vdc under load -----------------------------------------------
createdb faults_crash
start_vdc faults_crash "$tmp/data-crash" "$tmp/vdc-crash.log"
start_bench "$tmp/crash.jsonl" "$tmp/bench-crash.log"
wait_third "$tmp/crash.jsonl"
echo "faults: kill -9 vdc under load, then start it again on the same database" >&2
kill -KILL "$vdc_pid"; wait "$vdc_pid" 2>/dev/null || true
start_vdc faults_crash "$tmp/data-crash" "$tmp/vdc-crash.log"
finish_bench "$tmp/bench-crash.log"
kill "$vdc_pid"; wait "$vdc_pid" 2>/dev/null || true; vdc_pid=""
dump faults_crash "$tmp/dump-crash"
python3 scripts/faults_check.py "vdc kill -9 and restart" crash "$tmp/crash.jsonl" \
    "$tmp/dump-crash" "$bound_ms" "$mgmt_bound_ms" || status=1
no_panics "$tmp/vdc-crash.log" || status=1

echo "faults: done in $((SECONDS - started_at)) s" >&2
exit "$status"
