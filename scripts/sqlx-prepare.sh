#!/usr/bin/env bash
# Regenerates the committed offline query data (`.sqlx/`) of both store crates without
# sqlx-cli: applies every migration to a scratch database, then compiles each store crate
# online with SQLX_OFFLINE_DIR pointing at its `.sqlx/`, which makes the query macros write
# one file per query. Stale files are removed first, so the folder holds exactly the queries
# the code has. Usage: scripts/sqlx-prepare.sh [postgres|sqlite] (both when omitted).
# Needs Postgres on 127.0.0.1:5432 (trust auth) and the sqlite3 CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
which=${1:-both}
tag=${VDC_PREPARE_TAG:-$$}

if [ "$which" = both ] || [ "$which" = postgres ]; then
    db="vdc_prepare_$tag"
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    for f in migrations/postgres/*.sql; do
        psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d "$db" -f "$f" >/dev/null
    done
    rm -f crates/vdc-store-postgres/.sqlx/query-*.json
    touch crates/vdc-store-postgres/src/lib.rs
    SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$root/crates/vdc-store-postgres/.sqlx" \
        VDC_PG_URL="postgres://postgres@127.0.0.1:5432/$db" \
        cargo check -p vdc-store-postgres --lib --quiet
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db"
    echo "postgres: $(ls crates/vdc-store-postgres/.sqlx | wc -l) queries"
fi

if [ "$which" = both ] || [ "$which" = sqlite ]; then
    file="/tmp/vdc_prepare_$tag.db"
    rm -f "$file"*
    for f in migrations/sqlite/*.sql; do
        sqlite3 -bail "$file" < "$f"
    done
    rm -f crates/vdc-store-sqlite/.sqlx/query-*.json
    touch crates/vdc-store-sqlite/src/lib.rs
    SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$root/crates/vdc-store-sqlite/.sqlx" \
        VDC_SQLITE_URL="sqlite://$file" \
        cargo check -p vdc-store-sqlite --lib --quiet
    rm -f "$file"*
    echo "sqlite: $(ls crates/vdc-store-sqlite/.sqlx | wc -l) queries"
fi
