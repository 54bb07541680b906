#!/usr/bin/env bash
# The send queue's fan-out (docs/BENCHMARKS.md, "The send queue"): StartCampaign of an N-recipient
# campaign (the audience materialised in PostgreSQL) to its first send at the gateway, with the
# Redis memory the queue then holds, beside `redis-benchmark` writing N list entries pipelined to
# one shard in the same run (what pushing every message to Redis at start would cost at best).
# One `all` process (API, worker and the embedded simulator). Uses the local PostgreSQL and Redis
# of tools/setup.sh and a throwaway database waqtor_bench_fanout.
#
# Usage: tools/bench-fanout.sh            (N=1000000)
# Env:   N=200000  SKIP_BUILD=1  KEEP=1
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$WAQTOR_ROOT/tools/setup.sh" >/dev/null
cd "$WAQTOR_ROOT"
N=${N:-1000000}
DB=waqtor_bench_fanout
OUT=$(mktemp -d)
SERVER_PID=""
export WAQTOR_SEND_KEY_PREFIX="wqfan$RANDOM"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PSQL=(psql -h "$WAQTOR_DATA/run" -p "$WAQTOR_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q -X)
cleanup() {
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    shards=${WAQTOR_REDIS_SHARDS:-}
    for shard in ${shards//,/ }; do
        redis-cli -h "${shard%:*}" -p "${shard##*:}" --scan --pattern "$WAQTOR_SEND_KEY_PREFIX:*" | xargs -r -n 500 redis-cli -h "${shard%:*}" -p "${shard##*:}" del >/dev/null
    done
    if [ -z "${KEEP:-}" ]; then
        as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
        rm -rf "$OUT"
    fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
log() { echo "[bench-fanout] $*" >&2; }

[ -n "${SKIP_BUILD:-}" ] || { swift build -c release --product waqtor-server >/dev/null && swift build -c release --product waqtor >/dev/null; }
as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
as_pg "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB OWNER waqtor_owner" >/dev/null
as_pg "${PSQL[@]}" -d "$DB" -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO waqtor_owner; GRANT USAGE ON SCHEMA public TO waqtor_app; GRANT CONNECT ON DATABASE $DB TO waqtor_app;" >/dev/null
OWNER_URL=$(waqtor_db_url waqtor_owner "$WAQTOR_DB_OWNER_PASSWORD" "$DB")
Q() { psql "$OWNER_URL" -Atq -c "$1"; }

RPC_PORT=$(free_port)
GW_PORT=$(free_port)
export WAQTOR_DATABASE_URL=$(waqtor_db_url waqtor_app "$WAQTOR_DB_APP_PASSWORD" "$DB")
export WAQTOR_DATABASE_MIGRATION_URL=$OWNER_URL
export WAQTOR_REDIS_SHARDS=$(waqtor_redis_shards)
export WAQTOR_ADMIN_PORT=0   # each server its own free admin port (they run side by side)
export WAQTOR_RPC_PORT=$RPC_PORT WAQTOR_WEBHOOK_PORT=$(free_port) WAQTOR_GATEWAY_EMBEDDED_PORT=$GW_PORT
export WAQTOR_GATEWAY_URL=embedded WAQTOR_LOG_LEVEL=warning WAQTOR_ROLE=all WAQTOR_SEND_MAX_TYPING_DELAY_MS=0
# A 1M audience's statements run longer than the default 30 s statement timeout (docs/BENCHMARKS.md).
export WAQTOR_DATABASE_STATEMENT_TIMEOUT_MS=${STATEMENT_TIMEOUT_MS:-900000}
export WAQTOR_CONFIG_DIR="$OUT/cli" WAQTOR_SERVER="127.0.0.1:$RPC_PORT"
.build/release/waqtor-server serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$RPC_PORT),1)" 2>/dev/null && break; sleep 0.2; done
W=.build/release/waqtor
GW="http://127.0.0.1:$GW_PORT"

echo "bench-password-123" | $W signup --name Bench --email "bench@example.com" --time-zone America/Sao_Paulo --password-stdin >/dev/null
Q "UPDATE plans SET max_contacts = 5000000, max_messages_per_day = 5000000 WHERE id = 'business'; UPDATE tenants SET plan_id = 'business';"
LIST=$($W list create Bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["contact_list"]["id"])')
INSTANCE=$($W instance create --name Bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["instance"]["id"])')
curl -s -o /dev/null -X POST "$GW/_sim/connect/$(Q "SELECT gateway_name FROM instances")"
for _ in $(seq 1 100); do [ "$(Q "SELECT state FROM instances")" = "open" ] && break; sleep 0.2; done
Q "UPDATE instances SET min_delay_ms = 1000, max_delay_ms = 1000, warmup_enabled = false"
curl -s -o /dev/null -X POST "$GW/_sim/drop-webhooks/*" -H 'Content-Type: application/json' -d '{"events":["messages.update","send.message","messages.upsert"]}'

python3 - "$OUT/contacts.csv" "$N" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("phone,name\n")
    for i in range(n):
        f.write(f"+5511{960000000 + i},Person {i}\n")
PY
log "importing $N contacts"
$W contact import "$OUT/contacts.csv" --list "$LIST" --batch-size 10000 --timeout 600 --json >/dev/null
CAMPAIGN=$($W campaign create --name Bench --text "{Hi|Hello} {{name}}, news for you" --list "$LIST" --number "$INSTANCE" --timeout 600 --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["campaign"]["id"])')
log "starting the campaign"
t0=$(now)
$W campaign start "$CAMPAIGN" --timeout 1800 --json >/dev/null
t1=$(now)
for _ in $(seq 1 6000); do [ "$(Q "SELECT count(*) FROM campaign_recipients WHERE sent_at IS NOT NULL")" != "0" ] && break; sleep 0.05; done
t2=$(now)
first=$(Q "SELECT extract(epoch FROM min(sent_at)) FROM campaign_recipients")
queued=$(Q "SELECT count(*) FROM campaign_recipients WHERE state = 'queued'")
shard0=${WAQTOR_REDIS_SHARDS%%,*}
redis_used=""
for shard in ${WAQTOR_REDIS_SHARDS//,/ }; do
    redis_used+="$(redis-cli -h "${shard%:*}" -p "${shard##*:}" info memory | awk -F: '/^used_memory_human/ {gsub("\r",""); print $2}') "
done
log "redis-benchmark: $N LPUSH, pipelined by 1000"
rb=$(redis-benchmark -h "${shard0%:*}" -p "${shard0##*:}" -n "$N" -P 1000 -t lpush -q --csv | tail -1 | awk -F'"' '{print $4}')
redis-cli -h "${shard0%:*}" -p "${shard0##*:}" del mylist >/dev/null

python3 - "$N" "$t0" "$t1" "$first" "$rb" "$queued" "$redis_used" <<'PY'
import sys
n, t0, t1, first, rb, queued, redis = sys.argv[1:]
n, t0, t1, first, rb = int(n), float(t0), float(t1), float(first), float(rb)
print("| recipients | StartCampaign | start to first send | in Redis after the start | Redis used | redis-benchmark, N LPUSH pipelined |")
print("|---|---|---|---|---|---|")
print(f"| {n:,} | {t1 - t0:.1f} s | {first - t0:.1f} s ({first - t1:.2f} s after the start returned) | {int(queued):,} messages (one window) | {redis.strip()} | {n / rb:.3f} s ({rb:,.0f}/s) |")
PY
