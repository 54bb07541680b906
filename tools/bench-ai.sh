#!/usr/bin/env bash
# AI drafting through the server (docs/BENCHMARKS.md, "AI drafting"): N sequential
# `waqtor ai draft` calls (DraftTemplates: checks, the plan's quota, one call to the embedded
# OpenRouter stand-in, every draft through the template parser, the usage record) against, in the
# same run, N `waqtor usage` calls (the same CLI start, connection and authentication, and two
# database reads) and N direct HTTP posts of the same request body to the stand-in (curl: mostly
# its own process start, an upper bound of the stand-in's share).
# Uses the local PostgreSQL and Redis of tools/setup.sh and a throwaway database waqtor_bench_ai.
#
# Usage: tools/bench-ai.sh             (N=100)
# Env:   N=200  SKIP_BUILD=1
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$WAQTOR_ROOT/tools/setup.sh" >/dev/null
cd "$WAQTOR_ROOT"
N=${N:-100}
DB=waqtor_bench_ai
OUT=$(mktemp -d)
SERVER_PID=""
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PSQL=(psql -h "$WAQTOR_DATA/run" -p "$WAQTOR_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q -X)
cleanup() {
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    rm -rf "$OUT"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
per_call() { python3 -c "print(f'{($2 - $1) * 1000 / $3:.1f}')"; }

[ -n "${SKIP_BUILD:-}" ] || { swift build -c release --product waqtor-server >/dev/null && swift build -c release --product waqtor >/dev/null; }
as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
as_pg "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB OWNER waqtor_owner" >/dev/null
as_pg "${PSQL[@]}" -d "$DB" -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO waqtor_owner; GRANT USAGE ON SCHEMA public TO waqtor_app; GRANT CONNECT ON DATABASE $DB TO waqtor_app;" >/dev/null
OWNER_URL=$(waqtor_db_url waqtor_owner "$WAQTOR_DB_OWNER_PASSWORD" "$DB")

RPC_PORT=$(free_port)
AI_PORT=$(free_port)
export WAQTOR_DATABASE_URL=$(waqtor_db_url waqtor_app "$WAQTOR_DB_APP_PASSWORD" "$DB")
export WAQTOR_DATABASE_MIGRATION_URL=$OWNER_URL
export WAQTOR_REDIS_SHARDS=$(waqtor_redis_shards)
export WAQTOR_ADMIN_PORT=0   # each server its own free admin port (they run side by side)
export WAQTOR_RPC_PORT=$RPC_PORT WAQTOR_WEBHOOK_PORT=$(free_port) WAQTOR_GATEWAY_EMBEDDED_PORT=$(free_port)
export WAQTOR_GATEWAY_URL=embedded WAQTOR_AI_URL=embedded WAQTOR_AI_EMBEDDED_PORT=$AI_PORT WAQTOR_LOG_LEVEL=warning WAQTOR_ROLE=api
export WAQTOR_SEND_KEY_PREFIX=benchai
export WAQTOR_CONFIG_DIR="$OUT/cli" WAQTOR_SERVER="127.0.0.1:$RPC_PORT"
.build/release/waqtor-server serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$RPC_PORT),1)" 2>/dev/null && break; sleep 0.2; done
W=.build/release/waqtor
echo "bench-password-123" | $W signup --name Bench --email "bench@example.com" --time-zone America/Sao_Paulo --password-stdin >/dev/null
psql "$OWNER_URL" -q -c "UPDATE tenants SET plan_id = 'business'"   # 20,000 AI drafts a day
DESCRIPTION="Winter sale at our Lisbon store: 20% off all coats and scarves until Sunday, free alterations"

# The request body the server sends, for the direct posts (captured from the stand-in's log).
$W ai draft "$DESCRIPTION" --language en --tone friendly --variants 3 --json >/dev/null
curl -s "http://127.0.0.1:$AI_PORT/_sim/requests" | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["body"])' >"$OUT/body.json"

t0=$(now)
for _ in $(seq 1 "$N"); do $W ai draft "$DESCRIPTION" --language en --tone friendly --variants 3 --json >/dev/null; done
t1=$(now)
for _ in $(seq 1 "$N"); do $W usage --json >/dev/null; done
t2=$(now)
for _ in $(seq 1 "$N"); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$AI_PORT/api/v1/chat/completions" \
        -H "Authorization: Bearer sim-openrouter-key" -H "Content-Type: application/json" --data-binary "@$OUT/body.json"
done
t3=$(now)
recorded=$(psql "$OWNER_URL" -At -c "SELECT count(*) FROM ai_requests WHERE outcome = 'ok'")
draft=$(per_call "$t0" "$t1" "$N")
usage=$(per_call "$t1" "$t2" "$N")
direct=$(per_call "$t2" "$t3" "$N")
echo "N=$N sequential calls, ms per call (commit $(git rev-parse --short HEAD))"
echo "  waqtor ai draft (DraftTemplates, 3 variants):  $draft"
echo "  waqtor usage (GetUsage, the CLI reference):    $usage"
echo "  curl POST to the stand-in (same body):         $direct"
python3 -c "print(f'  ai draft - usage: {$draft - $usage:.1f} ms (the drafting path beyond a call that reads the database)')"
echo "  ai_requests rows recorded 'ok': $recorded (expected $((N + 1)))"
