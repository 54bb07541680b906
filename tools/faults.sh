#!/usr/bin/env bash
# The fault suite (docs/RELIABILITY.md, "Faults"): real processes, each fault injected while
# `waqtor-load mixed` drives the server in an open loop, and measured from every call's timeline
# (waqtor-load --timeline) and from what reached the gateway.
#
# Its own PostgreSQL cluster and Redis shards, under $WAQTOR_DATA/faults on their own ports (made by
# tools/setup.sh with those settings), so restarting or killing them disturbs nothing else. Per row:
# a fresh gateway simulator, OpenRouter stand-in, `waqtor-server --role api` and one or two
# `--role worker` processes; the load; the fault; the checks; everything stopped.
#
# Usage: tools/faults.sh [--fast] [ROW ...]
#   rows: pg-restart shard-kill sigterm worker-kill gateway-5xx gateway-down openrouter webhook-flood
#   --fast: pg-restart shard-kill sigterm (what CI runs); no row given: all of them.
# Env:  BUILD=debug|release (default debug; built unless SKIP_BUILD=1), RATE=100 (mixed calls/s),
#       TIMEOUT=5 (each call's deadline, s), OUT=<dir> (default a temporary folder, removed unless
#       KEEP=1 or a row missed; KEEP=1 also leaves the suite's PostgreSQL and Redis running),
#       FAULTS_PG_PORT, FAULTS_REDIS_PORTS (default: the main ones plus 100).
# Prints one Markdown row per fault and exits 1 when a row missed its expectation (a message lost
# or sent twice, a wrong status, a call past its deadline, no recovery).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$WAQTOR_ROOT"

ALL_ROWS=(pg-restart shard-kill sigterm worker-kill gateway-5xx gateway-down openrouter webhook-flood)
FAST_ROWS=(pg-restart shard-kill sigterm)
ROWS=()
for arg in "$@"; do
    case "$arg" in
        --fast) ROWS+=("${FAST_ROWS[@]}") ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) [[ " ${ALL_ROWS[*]} " == *" $arg "* ]] || { echo "unknown row '$arg' (rows: ${ALL_ROWS[*]})" >&2; exit 2; }
           ROWS+=("$arg") ;;
    esac
done
[ ${#ROWS[@]} -gt 0 ] || ROWS=("${ALL_ROWS[@]}")

BUILD=${BUILD:-debug}
RATE=${RATE:-100}
TIMEOUT=${TIMEOUT:-5}
PG_PORT=${FAULTS_PG_PORT:-$((WAQTOR_PG_PORT + 100))}
REDIS_PORTS=${FAULTS_REDIS_PORTS:-$(for p in $WAQTOR_REDIS_PORTS; do printf '%s ' $((p + 100)); done)}
REDIS_PORTS=$(echo $REDIS_PORTS)
FAULTS_DATA="$WAQTOR_DATA/faults"
DB=waqtor_faults
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT"; else OUT=$(mktemp -d); fi
BIN="$WAQTOR_ROOT/.build/$BUILD"
GATEWAY_KEY=faults-gateway-key
AI_KEY=faults-openrouter-key
ADMIN_EMAIL=admin@faults.example
ADMIN_PASSWORD=faults-admin-password
PIDS=()

log() { echo "[faults] $*" >&2; }
fenv() { env WAQTOR_DATA="$FAULTS_DATA" WAQTOR_PG_PORT="$PG_PORT" WAQTOR_REDIS_PORTS="$REDIS_PORTS" "$@"; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1; }
PSQL=(psql -h "$FAULTS_DATA/run" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q -X)
now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port what log
    local i
    for i in $(seq 1 600); do port_open "$1" && return 0; sleep 0.1; done
    log "$2 did not open port $1:"; tail -n 30 "$3" >&2; return 1
}
wait_file() { # file seconds what
    local i
    for i in $(seq 1 $(($2 * 10))); do [ -s "$1" ] && return 0; sleep 0.1; done
    log "$3 not ready after $2 s"; return 1
}
rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -z "${KEEP:-}" ] && [ -z "${KEEP_OUT:-}" ]; then rm -rf "$OUT"; else log "kept $OUT"; fi
    # The suite's own PostgreSQL and Redis shards stop with it (their data stays for the next run).
    [ -n "${KEEP:-}" ] || fenv bash tools/stop.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT

# --- the environment -------------------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
    log "building (${BUILD})"
    for product in waqtor-server waqtor-load waqtor waqtor-evolution-sim waqtor-openrouter-sim; do
        swift build -c "$BUILD" --product "$product" >/dev/null
    done
fi
log "PostgreSQL 127.0.0.1:$PG_PORT and Redis $REDIS_PORTS under $FAULTS_DATA"
fenv bash tools/setup.sh >/dev/null
as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
as_pg "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB OWNER waqtor_owner" >/dev/null
as_pg "${PSQL[@]}" -d "$DB" -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO waqtor_owner; GRANT USAGE ON SCHEMA public TO waqtor_app; GRANT CONNECT ON DATABASE $DB TO waqtor_app;" >/dev/null

SHARDS=""
for p in $REDIS_PORTS; do SHARDS="${SHARDS:+$SHARDS,}127.0.0.1:$p"; done
export WAQTOR_DATABASE_URL="postgresql://waqtor_app:$WAQTOR_DB_APP_PASSWORD@127.0.0.1:$PG_PORT/$DB"
export WAQTOR_DATABASE_MIGRATION_URL="postgresql://waqtor_owner:$WAQTOR_DB_OWNER_PASSWORD@127.0.0.1:$PG_PORT/$DB"
export WAQTOR_REDIS_SHARDS="$SHARDS"
export WAQTOR_LOG_LEVEL=${WAQTOR_LOG_LEVEL:-warning} WAQTOR_GATEWAY_API_KEY=$GATEWAY_KEY WAQTOR_AI_API_KEY=$AI_KEY
export WAQTOR_SEND_MAX_TYPING_DELAY_MS=0 WAQTOR_MEDIA_ROOT="$OUT/media" WAQTOR_CONFIG_DIR="$OUT/cli"
"$BIN/waqtor-server" migrate >"$OUT/migrate.log" 2>&1 || { cat "$OUT/migrate.log" >&2; exit 1; }

# --- one row's processes -----------------------------------------------------------------------
start_gateway() {
    "$BIN/waqtor-evolution-sim" --port "$GW_PORT" --api-key "$GATEWAY_KEY" --connect-after-ms 300 \
        --ack-interval-ms 50 >>"$ROW_OUT/gateway.log" 2>&1 &
    GW_PID=$!; PIDS+=("$GW_PID")
    wait_port "$GW_PORT" gateway "$ROW_OUT/gateway.log"
}
start_server() {
    WAQTOR_ROLE=api WAQTOR_RPC_PORT=$RPC_PORT WAQTOR_WEBHOOK_PORT=$HOOK_PORT WAQTOR_ADMIN_PORT=$ADMIN_PORT \
        "$BIN/waqtor-server" serve >>"$ROW_OUT/server.log" 2>&1 &
    SERVER_PID=$!; PIDS+=("$SERVER_PID")
    wait_port "$RPC_PORT" server "$ROW_OUT/server.log"
}
start_worker() { # index
    WAQTOR_ROLE=worker WAQTOR_ADMIN_PORT=0 "$BIN/waqtor-server" serve >>"$ROW_OUT/worker$1.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    eval "WORKER$1_PID=$pid"
}
start_row() { # row
    ROW="$1"; ROW_OUT="$OUT/$1"; mkdir -p "$ROW_OUT"
    RPC_PORT=$(free_port); HOOK_PORT=$(free_port); ADMIN_PORT=$(free_port); GW_PORT=$(free_port); AI_PORT=$(free_port)
    export WAQTOR_GATEWAY_URL="http://127.0.0.1:$GW_PORT" WAQTOR_AI_URL="http://127.0.0.1:$AI_PORT/api/v1"
    export WAQTOR_SEND_KEY_PREFIX="wqfaults$RANDOM$RANDOM" WAQTOR_SERVER="127.0.0.1:$RPC_PORT"
    start_gateway
    "$BIN/waqtor-openrouter-sim" --port "$AI_PORT" --api-key "$AI_KEY" >>"$ROW_OUT/openrouter.log" 2>&1 &
    AI_PID=$!; PIDS+=("$AI_PID")
    wait_port "$AI_PORT" "OpenRouter stand-in" "$ROW_OUT/openrouter.log"
    start_server
    start_worker 1
    AT=(--server "127.0.0.1:$RPC_PORT" --webhook "http://127.0.0.1:$HOOK_PORT" --gateway "http://127.0.0.1:$GW_PORT"
        --gateway-key "$GATEWAY_KEY" --quiet)
    if [ -z "${ADMIN_MADE:-}" ]; then
        echo "$ADMIN_PASSWORD" | "$BIN/waqtor" signup --name Admin --email "$ADMIN_EMAIL" \
            --time-zone UTC --password-stdin >/dev/null
        "$BIN/waqtor-server" make-admin --email "$ADMIN_EMAIL" >/dev/null
        ADMIN_MADE=1
    fi
}
stop_row() {
    SERVER_RSS=$(rss_kb "$SERVER_PID"); WORKER_RSS=$(rss_kb "$WORKER1_PID")
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}

# The mixed load in the background: an open loop at $RATE calls/s for $1 seconds.
start_mixed() { # seconds [weights]
    "$BIN/waqtor-load" mixed "${AT[@]}" -c 4 -m 8 --rate "$RATE" -d "$1" --warmup 1 --timeout "$TIMEOUT" \
        --weights "${2:-profile=70,webhook=20,send-reply=8,login=2}" \
        --timeline "$ROW_OUT/mixed.csv" --ready-file "$ROW_OUT/mixed.ready" --json \
        >"$ROW_OUT/mixed.json" 2>"$ROW_OUT/mixed.err" &
    MIXED_PID=$!; PIDS+=("$MIXED_PID")
    wait_file "$ROW_OUT/mixed.ready" 120 "waqtor-load mixed" || { cat "$ROW_OUT/mixed.err" >&2; return 1; }
}
# A campaign in the background: $1 recipients over $2 numbers at a 1 s gap, until every recipient is final.
start_campaign() { # recipients numbers
    "$BIN/waqtor-load" campaign "${AT[@]}" -c 1 --recipients "$1" --numbers "$2" --gap-ms 1000 \
        --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" --timeout "$TIMEOUT" --finish-timeout 300 \
        --ready-file "$ROW_OUT/campaign.ready" --json >"$ROW_OUT/campaign.json" 2>"$ROW_OUT/campaign.err" &
    CAMPAIGN_PID=$!; PIDS+=("$CAMPAIGN_PID")
    wait_file "$ROW_OUT/campaign.ready" 120 "waqtor-load campaign" || { cat "$ROW_OUT/campaign.err" >&2; return 1; }
}
wait_load() { # pid...
    local pid
    for pid in "$@"; do wait "$pid" || log "$ROW: waqtor-load (pid $pid) exited with status $?"; done
}
gateway_sends() { curl -s "http://127.0.0.1:$GW_PORT/_sim/sends" | python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin) if 200 <= s["status"] < 300))'; }

# Checks one row from its files and prints its Markdown line; exits 1 from the script's point of
# view by setting FAILED when an expectation was missed.
FAILED=0
RESULTS="$OUT/faults.md"
report() { # fault_start_ms fault_end_ms allowed_statuses expectation...
    local line
    echo "$1 $2" >"$ROW_OUT/fault_ms"
    if line=$(python3 tools/faults_report.py --row "$ROW" --dir "$ROW_OUT" --fault-start "$1" --fault-end "$2" \
        --allowed "$3" --timeout-ms $((TIMEOUT * 1000)) --server-rss-kb "$SERVER_RSS" --worker-rss-kb "$WORKER_RSS" "${@:4}"); then
        echo "$line" | tee -a "$RESULTS"
    else
        echo "$line" | tee -a "$RESULTS"
        FAILED=1
    fi
}

# --- the rows ------------------------------------------------------------------------------------
row_pg_restart() {
    start_row pg-restart
    start_campaign 60 4
    start_mixed 16
    sleep 3  # calls before the fault, for comparison
    local t0 t1
    t0=$(now_ms)
    as_pg "$(pg_bin)/pg_ctl" -D "$FAULTS_DATA/postgres" -m fast -w -t 60 restart >"$ROW_OUT/pg_ctl.log" 2>&1
    t1=$(now_ms)
    wait_load "$MIXED_PID" "$CAMPAIGN_PID"
    curl -s -o "$ROW_OUT/ready.json" -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/health/ready" >"$ROW_OUT/ready.status" || true
    stop_row
    # A reply whose send met the gap is sent on a later round (REPLY_TIMEOUT: not SENT within the
    # timeout; the lost count says whether it reached the gateway).
    report "$t0" "$t1" "UNAVAILABLE,HTTP_503,REPLY_TIMEOUT" --recover-within-ms 5000 --ready-after "$ROW_OUT/ready.status" \
        --campaign "$ROW_OUT/campaign.json"
}

row_shard_kill() {
    start_row shard-kill
    start_campaign 80 4
    start_mixed 20
    sleep 3
    local port=${REDIS_PORTS##* } t0 t1 during0 during1
    t0=$(now_ms)
    kill -9 "$(cat "$FAULTS_DATA/redis-$port/redis.pid")"
    during0=$(gateway_sends)
    sleep 5  # the shard stays down this long
    during1=$(gateway_sends)
    fenv bash tools/setup.sh >/dev/null   # starts the shard again (its append-only file kept)
    t1=$(now_ms)
    wait_load "$MIXED_PID" "$CAMPAIGN_PID"
    stop_row
    # Replies from numbers on the lost shard wait for it (REPLY_TIMEOUT: not SENT within the
    # timeout, sent later); what the shard lost in its last second (append-only file synced every
    # second) comes back through the per-number repair, which looks every 10 s (docs/QUEUE.md).
    report "$t0" "$t1" "UNAVAILABLE,HTTP_503,REPLY_TIMEOUT" --recover-within-ms 20000 --campaign "$ROW_OUT/campaign.json" \
        --sent-during-fault $((during1 - during0)) --unavailable-names "Redis shard 1"
}

row_sigterm() {
    start_row sigterm
    # More logins (argon2id, the longest calls) so that calls are in flight when the signal comes.
    start_mixed 14 "profile=65,webhook=15,send-reply=15,login=5"
    sleep 3
    local t0 t1
    t0=$(now_ms)
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || log "sigterm: the server exited with status $?"
    t1=$(now_ms)
    echo "$((t1 - t0))" >"$ROW_OUT/drain_ms"
    start_server
    wait_load "$MIXED_PID"
    stop_row
    # New calls while no server listens: UNAVAILABLE (RPC), connection refused (webhooks).
    report "$t0" "$t1" "UNAVAILABLE,HTTP_CONNECTION_FAILED" --recover-within-ms 5000 --in-flight-must-finish --drain-ms "$ROW_OUT/drain_ms"
}

row_worker_kill() {
    start_row worker-kill
    start_worker 2
    start_campaign 80 4
    start_mixed 20
    sleep 4
    local t0 t1
    t0=$(now_ms)
    kill -9 "$WORKER1_PID"
    sleep 2  # the worker stays dead this long, then comes back
    start_worker 1
    t1=$(now_ms)
    wait_load "$MIXED_PID" "$CAMPAIGN_PID"
    stop_row
    # The dead worker's leases run out after send.lease_ms (25 s): its messages and replies wait
    # that long (REPLY_TIMEOUT), then go out once (the gateway is asked first, docs/QUEUE.md).
    report "$t0" "$t1" "REPLY_TIMEOUT" --recover-within-ms 30000 --campaign "$ROW_OUT/campaign.json"
}

row_gateway_5xx() {
    start_row gateway-5xx
    start_campaign 60 4
    start_mixed 45
    sleep 4
    local t0 t1 during0 during1
    during0=$(gateway_sends)
    t0=$(now_ms)
    curl -sf -X POST "http://127.0.0.1:$GW_PORT/_sim/send-failure/*" -d '{"mode":"server-error"}' >/dev/null
    sleep 30  # every send answers 500 this long
    curl -sf -X POST "http://127.0.0.1:$GW_PORT/_sim/send-failure/*" -d '{"mode":"none"}' >/dev/null
    t1=$(now_ms)
    during1=$(gateway_sends)
    wait_load "$MIXED_PID" "$CAMPAIGN_PID"
    stop_row
    # Replies held by the outage are SENT late (REPLY_TIMEOUT), none FAILED; the campaign finishes
    # with every recipient sent once.
    report "$t0" "$t1" "REPLY_TIMEOUT" --recover-within-ms 15000 --campaign "$ROW_OUT/campaign.json" \
        --note "$((during1 - during0)) sends accepted during the 5xx (sends already answered before it)"
}

row_gateway_down() {
    start_row gateway-down
    start_campaign 60 4
    start_mixed 40
    sleep 4
    local t0 t1 ready_during
    t0=$(now_ms)
    curl -sf -X POST "http://127.0.0.1:$GW_PORT/_sim/outage" -d '{"ms":20000}' >/dev/null
    sleep 10
    # What the server says meanwhile: readiness names the gateway unreachable (and stays ready).
    curl -s "http://127.0.0.1:$ADMIN_PORT/health/ready" >"$ROW_OUT/ready_during.json" || true
    while ! port_open "$GW_PORT"; do sleep 0.1; done
    t1=$(now_ms)
    wait_load "$MIXED_PID" "$CAMPAIGN_PID"
    stop_row
    ready_during=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); g=[c for c in d["components"] if c["name"] == "gateway"][0]
print("server ready %s, gateway ready %s: %s" % (d.get("ready"), g["ready"], g["detail"].split(" (")[0]))' "$ROW_OUT/ready_during.json" 2>/dev/null || echo "?")
    report "$t0" "$t1" "REPLY_TIMEOUT" --recover-within-ms 15000 --campaign "$ROW_OUT/campaign.json" \
        --note "readiness during the outage: ${ready_during//|//}"
}

row_openrouter() {
    start_row openrouter
    start_mixed 30
    echo "faults-drafter-password" | "$BIN/waqtor" signup --profile drafter --name Drafter --email "drafter$RANDOM@faults.example" \
        --time-zone UTC --password-stdin >/dev/null
    sleep 2
    local t0 t1 i start end out status detail
    # 429 (Retry-After 1 s) then 503s: the next chat requests answer these, in order.
    curl -sf -X POST "http://127.0.0.1:$AI_PORT/_sim/faults" -H 'content-type: application/json' \
        -d '{"faults":[{"kind":"status","status":429,"retry_after":1},{"kind":"status","status":503},{"kind":"status","status":429,"retry_after":1},{"kind":"status","status":503},{"kind":"status","status":503},{"kind":"status","status":503},{"kind":"status","status":429,"retry_after":1},{"kind":"status","status":503}]}' >/dev/null
    t0=$(now_ms)
    echo "start_ms,began_ms,end_ms,operation,status,detail" >"$ROW_OUT/drafts.csv"
    for i in 1 2 3 4 5 6; do
        start=$(now_ms)
        out=$("$BIN/waqtor" ai draft "A spring sale on garden tools, 20% off until Sunday" \
            --profile drafter --json --variants 2 --timeout 20 2>/dev/null || true)
        end=$(now_ms)
        read -r status detail < <(python3 -c 'import json,sys
d=json.loads(sys.argv[1] or "{}"); e=d.get("error")
print("OK -" if not e else "%s retry_after_ms=%s;hint=%s" % (e.get("status"), e.get("retry_after_ms"), (e.get("hint") or "").replace(" ", "_").replace(",", ";")[:80]))' "$out")
        echo "$start,$start,$end,draft,$status,\"$detail\"" >>"$ROW_OUT/drafts.csv"
    done
    t1=$(now_ms)
    wait_load "$MIXED_PID"
    stop_row
    report "$t0" "$t1" "UNAVAILABLE" --recover-within-ms 60000 --extra-timeline drafts.csv --timeout-ms-extra 20000 \
        --require-hint UNAVAILABLE
}

row_webhook_flood() {
    start_row webhook-flood
    # The mixed load posts webhooks at about 20/s (its webhook share of $RATE calls/s): the normal
    # rate. Three floods on top of it, one after the other, each through waqtor-load webhook:
    #   reference  10x the normal rate (open loop, 200 posts/s) at a trivial HTTP endpoint
    #              (tools/grpc-peer's http-peer): what the flood's client alone costs this machine;
    #   flood      the same at the webhook listener: RPC latency must stay within 2x the reference's;
    #   overload   a closed loop of 512 posts in flight at the listener, far past what it can take:
    #              it must shed (503 + Retry-After) with its memory bounded.
    start_mixed 70
    local peer_port ref0 ref1 t0 t1 o0 o1 flood_rate=$((RATE * 2))
    peer_port=$(free_port)
    if [ ! -x tools/grpc-peer/.build/release/http-peer ]; then
        swift build -c release --package-path tools/grpc-peer --product http-peer >/dev/null
    fi
    tools/grpc-peer/.build/release/http-peer --port "$peer_port" >"$ROW_OUT/http-peer.log" 2>&1 &
    PIDS+=("$!")
    wait_port "$peer_port" http-peer "$ROW_OUT/http-peer.log"
    flood() { # name webhook-url load-options...; sets FLOOD_T0 and FLOOD_T1
        local name=$1 url=$2 at=("${AT[@]}") i pid
        shift 2
        for i in "${!at[@]}"; do [ "${at[$i]}" != "--webhook" ] || at[$((i + 1))]="$url"; done
        "$BIN/waqtor-load" webhook "${at[@]}" "$@" -d 12 --warmup 0 --timeout "$TIMEOUT" --json \
            --ready-file "$ROW_OUT/$name.ready" >"$ROW_OUT/$name.json" 2>"$ROW_OUT/$name.err" &
        pid=$!
        PIDS+=("$pid")
        wait_file "$ROW_OUT/$name.ready" 120 "waqtor-load webhook ($name)"
        FLOOD_T0=$(now_ms)
        wait "$pid" || log "webhook-flood: waqtor-load webhook ($name) exited with status $?"
        FLOOD_T1=$(now_ms)
    }
    flood reference "http://127.0.0.1:$peer_port" -c 4 -m 16 --rate "$flood_rate"
    ref0=$FLOOD_T0; ref1=$FLOOD_T1
    flood flood "http://127.0.0.1:$HOOK_PORT" -c 4 -m 16 --rate "$flood_rate"
    t0=$FLOOD_T0; t1=$FLOOD_T1
    flood overload "http://127.0.0.1:$HOOK_PORT" -c 8 -m 64
    o0=$FLOOD_T0; o1=$FLOOD_T1
    wait_load "$MIXED_PID"
    stop_row
    # The mixed load's own webhooks are shed during the overload too: recovery counts from its end.
    report "$t0" "$t1" "REPLY_TIMEOUT,HTTP_503" --recover-within-ms 10000 --recovery-from "$o1" --flood "$ROW_OUT/flood.json" \
        --reference "$ref0" "$ref1" "$ROW_OUT/reference.json" --overload "$o0" "$o1" "$ROW_OUT/overload.json"
}

{
    echo "| fault | calls during it (its length) | errors during it | errors after it | recovery | past the deadline | lost | sent twice | peak RSS MiB (server / worker) | what else was seen | verdict |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
} | tee "$RESULTS"
for row in "${ROWS[@]}"; do
    log "row $row"
    "row_${row//-/_}"
done
echo
cat "$RESULTS" >/dev/null
[ "$FAILED" -eq 0 ] || { log "a row missed its expectation (files in $OUT)"; KEEP_OUT=1; exit 1; }
