#!/usr/bin/env bash
# The product scenarios of waqtor-load (docs/BENCHMARKS.md, "Harness: product scenarios") against
# one `waqtor-server serve` (role all, the embedded gateway simulator) on a throwaway database
# waqtor_bench_load, each for a short fixed time; prints each scenario's table.
#   login, profile, webhook, send-reply, mixed: closed loops, then profile and webhook in an open
#   loop at a fixed rate; campaign: one campaign of CAMPAIGN_RECIPIENTS over CAMPAIGN_NUMBERS
#   numbers (an administrator sets the account's plan); last, send-reply again on a server with
#   the default typing delay (what production does), for comparison.
# Uses the local PostgreSQL and Redis of tools/setup.sh.
#
# Usage: tools/bench-load.sh
# Env:   DURATION=10 WARMUP=2 TYPING_MS=0 (the main server's send.max_typing_delay_ms)
#        PROFILE_RATE=500 WEBHOOK_RATE=300 CAMPAIGN_NUMBERS=20 CAMPAIGN_RECIPIENTS=400
#        SKIP_BUILD=1 KEEP=1 (keep the database and files) JSON=1 (JSON reports instead of tables)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$WAQTOR_ROOT/tools/setup.sh" >/dev/null
cd "$WAQTOR_ROOT"
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
TYPING_MS=${TYPING_MS:-0}
PROFILE_RATE=${PROFILE_RATE:-500}
WEBHOOK_RATE=${WEBHOOK_RATE:-300}
CAMPAIGN_NUMBERS=${CAMPAIGN_NUMBERS:-20}
CAMPAIGN_RECIPIENTS=${CAMPAIGN_RECIPIENTS:-400}
DB=waqtor_bench_load
OUT=$(mktemp -d)
SERVER_PID=""
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# As the postgres superuser over the local socket, as tools/setup.sh does.
PSQL=(psql -h "$WAQTOR_DATA/run" -p "$WAQTOR_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q -X)
stop_server() {
    if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true; fi
    SERVER_PID=""
}
cleanup() {
    stop_server
    if [ -z "${KEEP:-}" ]; then
        as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
        rm -rf "$OUT"
    else
        echo "[bench-load] kept $OUT and database $DB" >&2
    fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
log() { echo "[bench-load] $*" >&2; }

[ -n "${SKIP_BUILD:-}" ] || for product in waqtor-server waqtor-load waqtor; do swift build -c release --product $product >/dev/null; done
as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
as_pg "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB OWNER waqtor_owner" >/dev/null
as_pg "${PSQL[@]}" -d "$DB" -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO waqtor_owner; GRANT USAGE ON SCHEMA public TO waqtor_app; GRANT CONNECT ON DATABASE $DB TO waqtor_app;" >/dev/null

RPC_PORT=$(free_port); HOOK_PORT=$(free_port); GW_PORT=$(free_port)
export WAQTOR_DATABASE_URL=$(waqtor_db_url waqtor_app "$WAQTOR_DB_APP_PASSWORD" "$DB")
export WAQTOR_DATABASE_MIGRATION_URL=$(waqtor_db_url waqtor_owner "$WAQTOR_DB_OWNER_PASSWORD" "$DB")
export WAQTOR_REDIS_SHARDS=$(waqtor_redis_shards)
export WAQTOR_RPC_PORT=$RPC_PORT WAQTOR_WEBHOOK_PORT=$HOOK_PORT WAQTOR_GATEWAY_EMBEDDED_PORT=$GW_PORT
export WAQTOR_ADMIN_PORT=0 WAQTOR_AI_EMBEDDED_PORT=0 WAQTOR_ROLE=all WAQTOR_GATEWAY_URL=embedded WAQTOR_LOG_LEVEL=warning
# Its own send queue in Redis (the database is its own too: its workers serve every tenant in it).
export WAQTOR_SEND_KEY_PREFIX="wqbenchload$RANDOM" WAQTOR_GATEWAY_EMBEDDED_CONNECT_AFTER_MS=500
export WAQTOR_MEDIA_ROOT="$OUT/media" WAQTOR_CONFIG_DIR="$OUT/cli" WAQTOR_SERVER="127.0.0.1:$RPC_PORT"

start_server() { # typing delay (ms)
    WAQTOR_SEND_MAX_TYPING_DELAY_MS=$1 .build/release/waqtor-server serve >>"$OUT/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$RPC_PORT),1)" 2>/dev/null && return; sleep 0.2; done
    log "the server did not start:"; tail -20 "$OUT/server.log" >&2; exit 1
}

L=(.build/release/waqtor-load)
AT=(--server "127.0.0.1:$RPC_PORT" --webhook "http://127.0.0.1:$HOOK_PORT" --gateway "http://127.0.0.1:$GW_PORT" --quiet)
[ -z "${JSON:-}" ] || AT+=(--json)
run() { # scenario and its options
    echo
    echo "\$ waqtor-load $* (at the bench server)"
    "${L[@]}" "$@" "${AT[@]}" || log "waqtor-load $1 exited with status $?"
}

log "server: role all, send.max_typing_delay_ms=$TYPING_MS, commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo ' (+ uncommitted changes)')"
echo "bench-load: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD), nproc $(nproc), DURATION=$DURATION WARMUP=$WARMUP TYPING_MS=$TYPING_MS"
start_server "$TYPING_MS"
# An administrator for the campaign's plan (the free plan has one number and 200 messages a day).
echo "bench-admin-password" | .build/release/waqtor signup --name Admin --email "admin@bench.example" --time-zone UTC --password-stdin >/dev/null
.build/release/waqtor-server make-admin --email "admin@bench.example" >/dev/null

run login -c 2 -d "$DURATION" --warmup "$WARMUP"
run profile -c 4 -m 8 -d "$DURATION" --warmup "$WARMUP"
run profile -c 4 -m 8 -d "$DURATION" --warmup "$WARMUP" --rate "$PROFILE_RATE"
run webhook -c 4 -m 8 -d "$DURATION" --warmup "$WARMUP"
run webhook -c 4 -m 8 -d "$DURATION" --warmup "$WARMUP" --rate "$WEBHOOK_RATE"
run send-reply -c 4 -m 4 -d "$DURATION" --warmup "$WARMUP"
run campaign -c 1 --numbers "$CAMPAIGN_NUMBERS" --recipients "$CAMPAIGN_RECIPIENTS" \
    --admin-email "admin@bench.example" --admin-password "bench-admin-password"
run mixed -c 4 -m 4 -d "$DURATION" --warmup "$WARMUP"
stop_server

log "send-reply again with the default typing delay (send.max_typing_delay_ms=5000)"
start_server 5000
# Two in flight per number: one held by the gateway for its typing delay, one waiting behind it.
run send-reply -c 4 -m 2 -d "$DURATION" --warmup "$WARMUP"
