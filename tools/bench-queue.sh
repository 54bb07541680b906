#!/usr/bin/env bash
# The send queue's throughput and pacing at scale (docs/BENCHMARKS.md, "The send queue"):
#   NUMBERS WhatsApp numbers, each paced at a gap of GAP_MS (to GAP_MAX_MS; no warm-up, no
#   typing delay), in campaigns of 20 numbers each, sent by ONE worker process
#   (`waqtor-server --role worker`) to the Evolution API simulator (`waqtor-evolution-sim`, its own
#   process), with an `api` process serving the RPC and the webhooks.
#   Reports, over MEASURE seconds after WARM seconds of sending:
#     - sends/s achieved, against the paced maximum (NUMBERS per gap) and against the simulator's
#       raw sendText capacity measured by wrk in the same run (the worker stopped);
#     - the share of a number's gaps (from the gateway's answer to the number's next request, as
#       the simulator logged them) within [GAP_MS, GAP_MAX_MS + 50 ms];
#     - the worker's CPU (user + system, % of one core) and peak RSS, and the Redis memory the
#       queue added (used_memory after the measurement minus before the run, all shards).
# Uses the local PostgreSQL and Redis of tools/setup.sh and a throwaway database waqtor_bench_queue.
#
# Usage: tools/bench-queue.sh                      (NUMBERS=2000 GAP_MS=1000)
# Env:   NUMBERS=10000  GAP_MS=20000 GAP_MAX_MS=30000 (a range)  WARM=15  MEASURE=30  SKIP_BUILD=1  KEEP=1
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$WAQTOR_ROOT/tools/setup.sh" >/dev/null
cd "$WAQTOR_ROOT"
NUMBERS=${NUMBERS:-2000}
GAP_MS=${GAP_MS:-1000}
GAP_MAX_MS=${GAP_MAX_MS:-$GAP_MS}
WARM=${WARM:-15}
MEASURE=${MEASURE:-30}
PER_CAMPAIGN=20
DB=waqtor_bench_queue
OUT=$(mktemp -d)
PREFIX="wqbench$RANDOM"
API_PID=""
WORKER_PID=""
SIM_PID=""
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PSQL=(psql -h "$WAQTOR_DATA/run" -p "$WAQTOR_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q -X)
cleanup() {
    for pid in $WORKER_PID $API_PID $SIM_PID; do kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    shards=${WAQTOR_REDIS_SHARDS:-}
    for shard in ${shards//,/ }; do
        redis-cli -h "${shard%:*}" -p "${shard##*:}" --scan --pattern "$PREFIX:*" | xargs -r -n 500 redis-cli -h "${shard%:*}" -p "${shard##*:}" del >/dev/null
    done
    if [ -z "${KEEP:-}" ]; then
        as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
        rm -rf "$OUT"
    fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
log() { echo "[bench-queue] $*" >&2; }
command -v wrk >/dev/null || { log "installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

[ -n "${SKIP_BUILD:-}" ] || for product in waqtor-server waqtor waqtor-evolution-sim; do swift build -c release --product $product >/dev/null; done
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
export WAQTOR_LOG_LEVEL=warning WAQTOR_SEND_KEY_PREFIX=$PREFIX WAQTOR_DATABASE_POOL_SIZE=16
export WAQTOR_CONFIG_DIR="$OUT/cli" WAQTOR_SERVER="127.0.0.1:$RPC_PORT"
GW="http://127.0.0.1:$GW_PORT"
.build/release/waqtor-evolution-sim --port "$GW_PORT" --api-key waqtor-dev-gateway-key --ack-interval-ms 5 >"$OUT/sim.log" 2>&1 &
SIM_PID=$!
WAQTOR_ROLE=api WAQTOR_RPC_PORT=$RPC_PORT WAQTOR_WEBHOOK_PORT=$(free_port) WAQTOR_GATEWAY_URL=$GW \
    WAQTOR_GATEWAY_API_KEY=waqtor-dev-gateway-key .build/release/waqtor-server serve >"$OUT/api.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 300); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$RPC_PORT),1)" 2>/dev/null && break; sleep 0.2; done
W=.build/release/waqtor

echo "bench-password-123" | $W signup --name Bench --email "bench@example.com" --time-zone America/Sao_Paulo --password-stdin >/dev/null
Q "INSERT INTO plans (id, name, rank, max_instances, max_contacts, max_messages_per_day, max_ai_drafts_per_day)
   VALUES ('bench', 'Bench', 9, 100000, 50000000, 500000000, 0); UPDATE tenants SET plan_id = 'bench';"
TENANT=$(Q "SELECT id FROM tenants LIMIT 1")

log "creating $NUMBERS numbers"
seq 1 "$NUMBERS" | xargs -P 8 -I{} $W instance create --name "Line {}" --json >/dev/null
# Connected at the simulator (it posts connection.update open to the api process).
Q "SELECT gateway_name FROM instances" | xargs -P 16 -I{} curl -s -o /dev/null -X POST "$GW/_sim/connect/{}"
for _ in $(seq 1 600); do [ "$(Q "SELECT count(*) FROM instances WHERE state = 'open'")" = "$NUMBERS" ] && break; sleep 0.5; done
log "$(Q "SELECT count(*) FROM instances WHERE state = 'open'") numbers connected"
Q "UPDATE instances SET min_delay_ms = $GAP_MS, max_delay_ms = $GAP_MAX_MS, warmup_enabled = false"
# The simulator posts no message webhooks (four per send would measure the webhook listener).
curl -s -o /dev/null -X POST "$GW/_sim/drop-webhooks/*" -H 'Content-Type: application/json' -d '{"events":["messages.update","send.message","messages.upsert"]}'

# One campaign per 20 numbers, each with a list of enough contacts to keep its numbers busy.
PER_NUMBER=$(( (WARM + MEASURE + 30) * 1000 / GAP_MS + 1 ))
CAMPAIGNS=$(( (NUMBERS + PER_CAMPAIGN - 1) / PER_CAMPAIGN ))
log "importing $(( CAMPAIGNS * PER_CAMPAIGN * PER_NUMBER )) contacts into $CAMPAIGNS lists"
python3 - "$OUT" "$CAMPAIGNS" "$(( PER_CAMPAIGN * PER_NUMBER ))" <<'PY'
import sys
out, campaigns, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for c in range(campaigns):
    with open(f"{out}/c{c}.csv", "w") as f:
        f.write("phone,name\n")
        for i in range(per):
            f.write(f"+5511{900000000 + c * per + i},Person {i}\n")
PY
mapfile -t IDS < <(Q "SELECT id FROM instances ORDER BY created_at, id")
for c in $(seq 0 $(( CAMPAIGNS - 1 ))); do
    LIST=$($W list create "L$c" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["contact_list"]["id"])')
    $W contact import "$OUT/c$c.csv" --list "$LIST" --batch-size 10000 --json >/dev/null
    ARGS=()
    for id in "${IDS[@]:$(( c * PER_CAMPAIGN )):$PER_CAMPAIGN}"; do ARGS+=(--number "$id"); done
    CAMPAIGN=$($W campaign create --name "C$c" --text "Hi {{name}}, news for you" --list "$LIST" "${ARGS[@]}" --json \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["campaign"]["id"])')
    $W campaign start "$CAMPAIGN" --json >/dev/null
done

redis_bytes() {
    local total=0
    for shard in ${WAQTOR_REDIS_SHARDS//,/ }; do
        total=$(( total + $(redis-cli -h "${shard%:*}" -p "${shard##*:}" info memory | awk -F: '/^used_memory:/ {gsub("\r",""); print $2}') ))
    done
    echo "$total"
}
redis_before=$(redis_bytes)
log "sending: one worker"
WAQTOR_ROLE=worker WAQTOR_GATEWAY_URL=$GW WAQTOR_GATEWAY_API_KEY=waqtor-dev-gateway-key WAQTOR_SEND_MAX_TYPING_DELAY_MS=0 WAQTOR_CAMPAIGN_SCHEDULER_INTERVAL_MS=3600000 \
    .build/release/waqtor-server serve >"$OUT/worker.log" 2>&1 &
WORKER_PID=$!
cpu_ticks() { awk '{print $14 + $15}' "/proc/$WORKER_PID/stat"; }
sleep "$WARM"
curl -s -o /dev/null -X DELETE "$GW/_sim/sends"
c0=$(cpu_ticks); t0=$(Q "SELECT now()"); n0=$(Q "SELECT count(*) FROM campaign_recipients WHERE sent_at IS NOT NULL")
sleep "$MEASURE"
c1=$(cpu_ticks); t1=$(Q "SELECT now()"); n1=$(Q "SELECT count(*) FROM campaign_recipients WHERE sent_at IS NOT NULL")
rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$WORKER_PID/status")
hz=$(getconf CLK_TCK)
elapsed=$(Q "SELECT extract(epoch FROM '$t1'::timestamptz - '$t0'::timestamptz)")
# Gaps as the gateway saw them: from a number's answer to its next request, over the simulator's
# send log (the sends of the measured window).
curl -s "$GW/_sim/sends" > "$OUT/sends.json"
gaps=$(python3 - "$OUT/sends.json" "$GAP_MS" "$GAP_MAX_MS" <<'PY'
import json, sys
sends = [s for s in json.load(open(sys.argv[1])) if s["status"] == 201]
gap, gap_max = int(sys.argv[2]), int(sys.argv[3])
by = {}
for s in sends: by.setdefault(s["instance"], []).append(s)
values = []
for items in by.values():
    items.sort(key=lambda s: s["arrivedAt"])
    values += [b["arrivedAt"] - a["answeredAt"] for a, b in zip(items, items[1:])]
values.sort()
within = sum(1 for v in values if gap <= v <= gap_max + 50)
p = lambda q: values[min(len(values) - 1, int(q * len(values)))] if values else 0
print(f"{len(values)}|{within}|{p(0.5):.1f}|{p(0.99):.1f}|{values[0] if values else 0:.1f}")
PY
)
failed=$(Q "SELECT count(*) FROM campaign_recipients WHERE state = 'failed'")
redis_mem=$(( $(redis_bytes) - redis_before ))
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null || true; WORKER_PID=""

log "the simulator's raw capacity (wrk, 10 s, worker stopped)"
NAME=$(Q "SELECT gateway_name FROM instances LIMIT 1")
KEY=waqtor-dev-gateway-key
cat > "$OUT/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["apikey"] = "$KEY"
wrk.body = '{"number":"5511900000001","text":"Hi Person 1, news for you","delay":0,"linkPreview":true}'
LUA
raw=$(wrk -t2 -c64 -d10s -s "$OUT/post.lua" "$GW/message/sendText/$NAME" | awk '/Requests\/sec/ {print $2}')

python3 - "$NUMBERS" "$GAP_MS" "$GAP_MAX_MS" "$n0" "$n1" "$elapsed" "$c0" "$c1" "$hz" "$rss" "$gaps" "$raw" "$failed" "$redis_mem" <<'PY'
import sys
numbers, gap, gap_max, n0, n1, elapsed, c0, c1, hz, rss, gaps, raw, failed, redis = sys.argv[1:]
numbers, gap, gap_max, sent, elapsed = int(numbers), int(gap), int(gap_max), int(n1) - int(n0), float(elapsed)
rate = sent / elapsed
paced = numbers * 1000 / ((gap + gap_max) / 2)
cpu = (int(c1) - int(c0)) / int(hz) / elapsed * 100
total, within, p50, p99, low = gaps.split("|")
raw = float(raw)
lower = min(paced, raw)
print(f"| numbers | sends/s | paced maximum | simulator raw (wrk) | of the lower | gaps in [{gap}, {gap_max + 50}] ms | gap min / p50 / p99 | worker CPU | worker peak RSS | Redis added | failed |")
print(f"|---|---|---|---|---|---|---|---|---|---|---|")
print(f"| {numbers:,} | {rate:,.0f} | {paced:,.0f} | {raw:,.0f} | {rate / lower:.2f} | {int(within) / max(int(total), 1) * 100:.1f} % of {int(total):,} | {low} / {p50} / {p99} ms | {cpu:.0f} % | {rss} MiB | {int(redis) / 1048576:.1f} MiB | {failed} |")
PY
