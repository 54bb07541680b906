#!/usr/bin/env bash
# Chat benchmarks (docs/BENCHMARKS.md, "Chat"), two `api` servers (A and B) on one database and the
# Redis shards, the Evolution API simulator in its own process:
#   1. Webhook ingest: wrk posts `messages.upsert` envelopes (a new message id each, NUMBERS numbers,
#      1,000 senders) to A's webhook listener for SECONDS; reported: posts/s answered 200 and stored,
#      and messages/s projected into conversations and messages (until the last one is), against a
#      plain batched PostgreSQL insert of the same rows (the events and the messages, 1,000 rows a
#      statement, into copies of the two tables with their indexes) timed in the same run.
#   2. Latency: LATENCY_COUNT webhooks posted to A at LATENCY_RATE/s, each carrying its send time;
#      a `waqtor chat tail --json` on B timestamps each message event as it arrives: p50/p99.
# Uses the local PostgreSQL and Redis of tools/setup.sh and a throwaway database waqtor_bench_chat.
#
# Usage: tools/bench-chat.sh
# Env:   NUMBERS=10 SECONDS_=20 CONNECTIONS=32 LATENCY_COUNT=500 LATENCY_RATE=50 SKIP_BUILD=1 KEEP=1
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$WAQTOR_ROOT/tools/setup.sh" >/dev/null
cd "$WAQTOR_ROOT"
NUMBERS=${NUMBERS:-10}
DURATION=${SECONDS_:-20}
CONNECTIONS=${CONNECTIONS:-32}
LATENCY_COUNT=${LATENCY_COUNT:-500}
LATENCY_RATE=${LATENCY_RATE:-50}
DB=waqtor_bench_chat
OUT=$(mktemp -d)
PIDS=()
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PSQL=(psql -h "$WAQTOR_DATA/run" -p "$WAQTOR_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q -X)
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    if [ -z "${KEEP:-}" ]; then
        as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
        rm -rf "$OUT"
    fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
log() { echo "[bench-chat] $*" >&2; }
wait_port() { for _ in $(seq 1 300); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null && return; sleep 0.2; done; }
command -v wrk >/dev/null || { log "installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

[ -n "${SKIP_BUILD:-}" ] || for product in waqtor-server waqtor waqtor-evolution-sim; do swift build -c release --product $product >/dev/null; done
as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
as_pg "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB OWNER waqtor_owner" >/dev/null
as_pg "${PSQL[@]}" -d "$DB" -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO waqtor_owner; GRANT USAGE ON SCHEMA public TO waqtor_app; GRANT CONNECT ON DATABASE $DB TO waqtor_app;" >/dev/null
OWNER_URL=$(waqtor_db_url waqtor_owner "$WAQTOR_DB_OWNER_PASSWORD" "$DB")
Q() { psql "$OWNER_URL" -Atq -c "$1"; }

RPC_A=$(free_port); HOOK_A=$(free_port); RPC_B=$(free_port); GW_PORT=$(free_port)
export WAQTOR_DATABASE_URL=$(waqtor_db_url waqtor_app "$WAQTOR_DB_APP_PASSWORD" "$DB")
export WAQTOR_DATABASE_MIGRATION_URL=$OWNER_URL
export WAQTOR_REDIS_SHARDS=$(waqtor_redis_shards)
export WAQTOR_ADMIN_PORT=0   # each server its own free admin port (they run side by side)
export WAQTOR_LOG_LEVEL=warning WAQTOR_SEND_KEY_PREFIX="wqchat$RANDOM" WAQTOR_DATABASE_POOL_SIZE=16
export WAQTOR_CONFIG_DIR="$OUT/cli"
GW="http://127.0.0.1:$GW_PORT"
KEY=waqtor-dev-gateway-key
.build/release/waqtor-evolution-sim --port "$GW_PORT" --api-key $KEY >"$OUT/sim.log" 2>&1 &
PIDS+=($!)
WAQTOR_ROLE=api WAQTOR_RPC_PORT=$RPC_A WAQTOR_WEBHOOK_PORT=$HOOK_A WAQTOR_GATEWAY_URL=$GW WAQTOR_GATEWAY_API_KEY=$KEY \
    .build/release/waqtor-server serve >"$OUT/a.log" 2>&1 &
PIDS+=($!)
wait_port "$RPC_A"
WAQTOR_ROLE=api WAQTOR_RPC_PORT=$RPC_B WAQTOR_WEBHOOK_PORT=$(free_port) WAQTOR_GATEWAY_URL=$GW WAQTOR_GATEWAY_API_KEY=$KEY \
    WAQTOR_DATABASE_MIGRATE=false .build/release/waqtor-server serve >"$OUT/b.log" 2>&1 &
PIDS+=($!)
wait_port "$RPC_B"
W=.build/release/waqtor
export WAQTOR_SERVER="127.0.0.1:$RPC_A"
echo "bench-password-123" | $W signup --name Bench --email "bench@example.com" --time-zone America/Sao_Paulo --password-stdin >/dev/null
Q "INSERT INTO plans (id, name, rank, max_instances, max_contacts, max_messages_per_day, max_ai_drafts_per_day)
   VALUES ('bench', 'Bench', 9, 100000, 50000000, 500000000, 0); UPDATE tenants SET plan_id = 'bench';"
seq 1 "$NUMBERS" | xargs -P 4 -I{} $W instance create --name "Line {}" --json >/dev/null
# Each number's gateway name and webhook secret, as the gateway was given them.
for name in $(Q "SELECT gateway_name FROM instances ORDER BY gateway_name"); do
    secret=$(curl -s "$GW/webhook/find/$name" -H "apikey: $KEY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["headers"]["x-waqtor-webhook-secret"])')
    echo "$name $secret"
done > "$OUT/numbers.txt"

# 1. Ingest.
cat > "$OUT/post.lua" <<'LUA'
local numbers = {}
for line in io.lines(os.getenv("NUMBERS_FILE")) do
  local name, secret = line:match("(%S+) (%S+)")
  table.insert(numbers, {name = name, secret = secret})
end
local counter = 0
local thread_tag = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tag", threads)
end
function init(args)
  thread_tag = tag or 0
  math.randomseed(os.time() + thread_tag)
end
function request()
  counter = counter + 1
  local n = numbers[(counter % #numbers) + 1]
  local id = string.format("3EB0%02X%016X", thread_tag, counter)
  local sender = 5511900000000 + math.random(0, 999)
  local body = string.format(
    '{"event":"messages.upsert","instance":"%s","date_time":"2026-11-30T10:00:00.000Z","sender":"5511999990000@s.whatsapp.net",' ..
    '"server_url":"http://127.0.0.1","apikey":null,"data":{"key":{"remoteJid":"%d@s.whatsapp.net","fromMe":false,"id":"%s","participant":""},' ..
    '"pushName":"Client %d","status":"DELIVERY_ACK","message":{"conversation":"Hello, is the order %d on its way?"},' ..
    '"messageType":"conversation","messageTimestamp":%d,"instanceId":"x","source":"android"}}',
    n.name, sender, id, sender % 1000, counter, os.time())
  return wrk.format("POST", "/webhooks/evolution/" .. n.name,
    {["Content-Type"] = "application/json", ["x-waqtor-webhook-secret"] = n.secret}, body)
end
LUA
log "ingest: wrk, $CONNECTIONS connections, ${DURATION}s"
t0=$(date +%s.%N)
NUMBERS_FILE="$OUT/numbers.txt" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$OUT/post.lua" "http://127.0.0.1:$HOOK_A" > "$OUT/wrk.txt"
t1=$(date +%s.%N)
stored=$(Q "SELECT count(*) FROM webhook_events WHERE event = 'messages.upsert'")
for _ in $(seq 1 1200); do
    [ "$(Q "SELECT count(*) FROM chat_messages")" -ge "$stored" ] && break
    sleep 0.1
done
t2=$(date +%s.%N)
projected=$(Q "SELECT count(*) FROM chat_messages")
non200=$(awk '/Non-2xx/ {print $NF}' "$OUT/wrk.txt"); non200=${non200:-0}

log "reference: the same rows inserted by plain batched statements"
ref=$(psql "$OWNER_URL" -Atq <<SQL
CREATE TEMP TABLE ref_events (LIKE webhook_events INCLUDING ALL);
CREATE TEMP TABLE ref_messages (LIKE chat_messages INCLUDING ALL);
CREATE TEMP TABLE ref_conversations (LIKE conversations INCLUDING ALL);
INSERT INTO ref_conversations SELECT * FROM conversations;
ALTER TABLE ref_events ALTER COLUMN id SET DEFAULT 0;
SET bench.n = '$stored';
SELECT clock_timestamp() AS start \\gset
DO \$\$
DECLARE
    total integer := current_setting('bench.n')::integer;
    b integer := 0;
    t uuid := (SELECT tenant_id FROM instances LIMIT 1);
    i uuid := (SELECT id FROM instances LIMIT 1);
    c uuid[] := (SELECT array_agg(id) FROM conversations);
BEGIN
    WHILE b < total LOOP
        INSERT INTO ref_events (id, tenant_id, instance_id, event, dedupe_key, payload)
        SELECT b + g, t, i, 'messages.upsert', 'message:R' || (b + g),
               jsonb_build_object('event', 'messages.upsert', 'data', jsonb_build_object('key', jsonb_build_object('id', 'R' || (b + g)),
                                  'message', jsonb_build_object('conversation', 'Hello, is the order ' || g || ' on its way?')))
        FROM generate_series(1, least(1000, total - b)) g;
        INSERT INTO ref_messages (tenant_id, conversation_id, instance_id, wa_message_id, direction, status, kind, body, sender_name, created_at)
        SELECT t, c[1 + (b + g) % cardinality(c)], i, 'R' || (b + g), 'inbound', 'received', 'text',
               'Hello, is the order ' || g || ' on its way?', 'Client', now()
        FROM generate_series(1, least(1000, total - b)) g;
        b := b + 1000;
    END LOOP;
END
\$\$;
SELECT extract(epoch FROM clock_timestamp() - :'start');
SQL
)

# 2. Latency: webhook to A, Live on B (logged in there).
log "latency: $LATENCY_COUNT messages at $LATENCY_RATE/s, Live held on server B"
echo "bench-password-123" | $W login --server "127.0.0.1:$RPC_B" --email "bench@example.com" --password-stdin >/dev/null
NAME=$(head -1 "$OUT/numbers.txt" | cut -d' ' -f1); SECRET=$(head -1 "$OUT/numbers.txt" | cut -d' ' -f2)
python3 - "$W" "127.0.0.1:$RPC_B" "$HOOK_A" "$NAME" "$SECRET" "$LATENCY_COUNT" "$LATENCY_RATE" "$OUT" > "$OUT/latency.txt" <<'PY'
import http.client, json, os, subprocess, sys, threading, time
cli, server, hook, name, secret, count, rate, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6]), float(sys.argv[7]), sys.argv[8]
tail = subprocess.Popen([cli, "chat", "tail", "--json", "--server", server], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                        env=dict(os.environ, WAQTOR_SERVER=server))
latencies, done = [], threading.Event()
def read():
    for line in tail.stdout:
        now = time.time()
        try:
            event = json.loads(line)
        except ValueError:
            continue
        text = (event.get("message") or {}).get("text", "")
        if event.get("type") == "message" and text.startswith("latency "):
            latencies.append((now - float(text.split()[1])) * 1000)
            if len(latencies) >= count:
                done.set()
                return
threading.Thread(target=read, daemon=True).start()
time.sleep(2)  # the stream is open
conn = http.client.HTTPConnection("127.0.0.1", hook)
start = time.time()
for n in range(count):
    at = start + n / rate
    if at > time.time(): time.sleep(at - time.time())
    sent = time.time()
    body = json.dumps({"event": "messages.upsert", "instance": name, "date_time": "2026-11-30T10:00:00.000Z",
        "data": {"key": {"remoteJid": f"{5511970000000 + n % 50}@s.whatsapp.net", "fromMe": False, "id": f"3EB0LAT{n:014d}"},
                 "pushName": "Latency", "status": "DELIVERY_ACK", "message": {"conversation": f"latency {sent:.6f}"},
                 "messageType": "conversation", "messageTimestamp": int(sent)}})
    conn.request("POST", f"/webhooks/evolution/{name}", body, {"Content-Type": "application/json", "x-waqtor-webhook-secret": secret})
    conn.getresponse().read()
done.wait(60)
tail.terminate()
latencies.sort()
p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")
print(f"{len(latencies)}|{p(0.5):.1f}|{p(0.99):.1f}|{latencies[-1] if latencies else float('nan'):.1f}")
PY

python3 - "$stored" "$projected" "$t0" "$t1" "$t2" "$ref" "$non200" "$(cat "$OUT/latency.txt")" "$NUMBERS" "$CONNECTIONS" <<'PY'
import sys
stored, projected, t0, t1, t2, ref, non200, latency, numbers, connections = sys.argv[1:]
stored, projected, t0, t1, t2, ref = int(stored), int(projected), float(t0), float(t1), float(t2), float(ref)
ingest = stored / (t1 - t0)
through = projected / (t2 - t0)
reference = stored / ref
n, p50, p99, worst = latency.split("|")
print(f"| posts (wrk, {connections} connections, {numbers} numbers) | stored/s | projected/s (until the last) | plain batched insert of the same rows | ratio (projected / insert) | non-2xx |")
print("|---|---|---|---|---|---|")
print(f"| {stored:,} | {ingest:,.0f} | {through:,.0f} | {reference:,.0f} rows/s ({ref:.2f} s) | {through / reference:.2f} | {non200} |")
print()
print(f"| webhook on A to Live on B | messages | p50 | p99 | max |")
print("|---|---|---|---|---|")
print(f"| | {n} | {p50} ms | {p99} ms | {worst} ms |")
PY
