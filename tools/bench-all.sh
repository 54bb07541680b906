#!/usr/bin/env bash
# The product against the peers a user would pick instead, in one run, with ONE table
# (docs/BENCHMARKS.md, "Peers, in the same run"). Every comparison is interleaved: ROUNDS rounds,
# the order of product and peer alternating from round to round; ratios are product / peer, the
# median of the rounds (each round's ratio is shown too).
#   1. The RPC against grpc-swift-2 (tools/bench-peers.sh): async handler, async client, 64 B,
#      1 × 1 and 50 × 32.
#   2. GetProfile (an authenticated PostgreSQL read, `waqtor-load profile`) against pgbench at the
#      same concurrency on the same database, as the same role: (a) the tenant transaction the
#      server runs (BEGIN; set_config('app.tenant_id', …, true); the profile SELECT; COMMIT), and
#      (b) the same plus the session lookup (auth_resolve_session), i.e. every statement the server
#      sends for one GetProfile. pgbench -M extended (PQexecParams-like, as the server's pool).
#   3. The webhook listener against a trivial HTTP endpoint (tools/grpc-peer's http-peer: the same
#      SwiftNIO HTTP/1.1 pipeline answering 200 at once): wrk posting the same Evolution-shaped
#      messages.upsert bodies to both (the Lua script of tools/bench-chat.sh).
# Builds release (unless SKIP_BUILD=1), uses the local PostgreSQL and Redis of tools/setup.sh, a
# throwaway database waqtor_bench_peers and one waqtor-server (api role, embedded gateway) on free
# ports; stops and drops everything afterwards.
#
# Usage: tools/bench-all.sh                      (about 6 minutes once built)
# Env:   ROUNDS=3
#        RPC_DURATION=6 RPC_WARMUP=1             seconds per RPC run (bench-peers.sh)
#        PROFILE_C=16 PROFILE_M=1 PROFILE_DURATION=8 PROFILE_WARMUP=1   (pgbench -c C×M; pool = C×M)
#        WEBHOOK_CONNECTIONS=32 WEBHOOK_DURATION=8 NUMBERS=10
#        PARTS="rpc profile webhook"             which parts to run
#        SKIP_BUILD=1  KEEP=1 (keep the database)  OUT=dir (raw outputs)  TABLE=file (default $OUT/bench-all.md)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$WAQTOR_ROOT"
T_START=$(date +%s)
ROUNDS=${ROUNDS:-3}
PROFILE_C=${PROFILE_C:-16}
PROFILE_M=${PROFILE_M:-1}
PROFILE_DURATION=${PROFILE_DURATION:-8}
PROFILE_WARMUP=${PROFILE_WARMUP:-1}
WEBHOOK_CONNECTIONS=${WEBHOOK_CONNECTIONS:-32}
WEBHOOK_DURATION=${WEBHOOK_DURATION:-8}
NUMBERS=${NUMBERS:-10}
PARTS=${PARTS:-"rpc profile webhook"}
OUT=${OUT:-$(mktemp -d)}
TABLE=${TABLE:-$OUT/bench-all.md}
mkdir -p "$OUT"
DB=waqtor_bench_peers
WL=.build/release/waqtor-load
HP=tools/grpc-peer/.build/release/http-peer
PIDS=()
DB_MADE=""
log() { echo "[bench-all] $*" >&2; }
has_part() { [[ " $PARTS " == *" $1 "* ]]; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PSQL=(psql -h "$WAQTOR_DATA/run" -p "$WAQTOR_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q -X)
cleanup() {
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    done
    if [ -n "$DB_MADE" ] && [ -z "${KEEP:-}" ]; then
        as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # PORT PID LOG
    for _ in $(seq 1 300); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { log "error: the server exited:"; tail -n 30 "$3" >&2; exit 1; }
        sleep 0.2
    done
    log "error: nothing listens on $1 after 60 s"; exit 1
}
for tool in python3 psql; do command -v $tool >/dev/null || { log "error: $tool is required"; exit 1; }; done
if has_part profile && ! command -v pgbench >/dev/null; then
    log "installing pgbench (postgresql-contrib)"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-contrib >/dev/null
fi
if has_part webhook && ! command -v wrk >/dev/null; then
    log "installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

# --- build ------------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    for product in waqtor-load waqtor-server waqtor; do
        log "building (release): $product"
        swift build -c release --product "$product" >&2
    done
    log "building (release): tools/grpc-peer"
    (cd tools/grpc-peer && swift build -c release >&2)
fi
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- 2>/dev/null || echo ' + uncommitted changes')"
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit=$COMMIT"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') × $(nproc)"
    echo "rounds=$ROUNDS"
    echo "rpc=${RPC_DURATION:-6} ${RPC_WARMUP:-1}"
    echo "profile=$PROFILE_C $PROFILE_M $PROFILE_DURATION $PROFILE_WARMUP"
    echo "webhook=$WEBHOOK_CONNECTIONS $WEBHOOK_DURATION $NUMBERS"
    echo "pgbench=$(pgbench --version 2>/dev/null || echo '?')"
    echo "wrk=$( (wrk -v 2>&1 || true) | head -n1)"
} > "$OUT/all-machine.txt"

# --- 1. the RPC against grpc-swift-2 ------------------------------------------------------------
if has_part rpc; then
    log "1. the RPC against grpc-swift-2 (tools/bench-peers.sh)"
    SKIP_BUILD=1 OUT="$OUT" ROUNDS="$ROUNDS" DURATION="${RPC_DURATION:-6}" WARMUP="${RPC_WARMUP:-1}" \
        tools/bench-peers.sh > "$OUT/rpc-stdout.txt"
fi

# --- the server (parts 2 and 3) ---------------------------------------------------------------
if has_part profile || has_part webhook; then
    env -u WAQTOR_DATA -u WAQTOR_ROOT bash tools/setup.sh >/dev/null
    as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
    as_pg "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB OWNER waqtor_owner" >/dev/null
    DB_MADE=1
    as_pg "${PSQL[@]}" -d "$DB" -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO waqtor_owner; GRANT USAGE ON SCHEMA public TO waqtor_app; GRANT CONNECT ON DATABASE $DB TO waqtor_app;" >/dev/null
    OWNER_URL=$(waqtor_db_url waqtor_owner "$WAQTOR_DB_OWNER_PASSWORD" "$DB")
    Q() { psql "$OWNER_URL" -Atq -c "$1"; }
    RPC_PORT=$(free_port); HOOK_PORT=$(free_port); GW_PORT=$(free_port)
    POOL=$((PROFILE_C * PROFILE_M)); [ "$POOL" -ge 8 ] || POOL=8
    export WAQTOR_DATABASE_URL=$(waqtor_db_url waqtor_app "$WAQTOR_DB_APP_PASSWORD" "$DB")
    export WAQTOR_DATABASE_MIGRATION_URL=$OWNER_URL
    export WAQTOR_REDIS_SHARDS=$(waqtor_redis_shards)
    export WAQTOR_ADMIN_PORT=0
    export WAQTOR_ROLE=api WAQTOR_RPC_PORT=$RPC_PORT WAQTOR_WEBHOOK_PORT=$HOOK_PORT
    export WAQTOR_GATEWAY_URL=embedded WAQTOR_GATEWAY_EMBEDDED_PORT=$GW_PORT
    export WAQTOR_LOG_LEVEL=warning WAQTOR_SEND_KEY_PREFIX="wqpeers$RANDOM" WAQTOR_DATABASE_POOL_SIZE=$POOL
    export WAQTOR_SERVER="127.0.0.1:$RPC_PORT"
    log "waqtor-server (api, embedded gateway, database.pool_size $POOL) on $RPC_PORT, webhooks on $HOOK_PORT"
    .build/release/waqtor-server serve >"$OUT/server.log" 2>&1 &
    PIDS+=($!)
    wait_port "$RPC_PORT" "$!" "$OUT/server.log"
    wait_port "$HOOK_PORT" "${PIDS[-1]}" "$OUT/server.log"

    # One account per connection, signed up through the CLI (4 at a time: argon2id on the server).
    log "signing up $PROFILE_C accounts"
    PASSWORD="bench-peers-password-123"
    seq 1 "$PROFILE_C" | xargs -P 4 -I{} sh -c \
        "echo '$PASSWORD' | WAQTOR_CONFIG_DIR='$OUT/cli-{}' .build/release/waqtor signup --name 'Peer {}' --email 'peer-{}@example.com' --time-zone UTC --password-stdin >/dev/null"
    for i in $(seq 1 "$PROFILE_C"); do echo "peer-$i@example.com $PASSWORD"; done > "$OUT/accounts.txt"
    Q "INSERT INTO plans (id, name, rank, max_instances, max_contacts, max_messages_per_day, max_ai_drafts_per_day)
       VALUES ('bench', 'Bench', 9, 100000, 50000000, 500000000, 0); UPDATE tenants SET plan_id = 'bench';"
fi

# --- 2. GetProfile against pgbench --------------------------------------------------------------
if has_part profile; then
    INFLIGHT=$((PROFILE_C * PROFILE_M))
    log "2. GetProfile ($PROFILE_C × $PROFILE_M) against pgbench -c $INFLIGHT"
    PROFILE_OK=1
    if ! "$WL" profile --help >/dev/null 2>&1; then
        log "warning: this waqtor-load has no 'profile' scenario: the GetProfile side is not measured"
        PROFILE_OK=0
    fi
    profile() { # ROUND (tag) [SECONDS]
        if [ "$PROFILE_OK" = 1 ]; then
            "$WL" profile --server "127.0.0.1:$RPC_PORT" -c "$PROFILE_C" -m "$PROFILE_M" --accounts "$OUT/accounts.txt" \
                --duration "${2:-$PROFILE_DURATION}" --warmup "$PROFILE_WARMUP" --json --quiet \
                > "$OUT/profile-waqtor-$1.json" 2> "$OUT/profile-waqtor-$1.err" \
                || { log "warning: waqtor-load profile failed (round $1): $(tail -n 3 "$OUT/profile-waqtor-$1.err")"; rm -f "$OUT/profile-waqtor-$1.json"; }
        fi
    }
    # A first run, not counted: it warms the server and makes the sessions pgbench's (b) looks up.
    profile warmup 2
    # pgbench scripts, one per tenant (picked at random per transaction, as the load's connections
    # each read their own tenant): the tenant transaction the server runs for GetProfile, literally.
    COLUMNS_SQL="id, name, email::text AS email, time_zone, plan_id, status, suspension_reason, is_admin, created_at, updated_at"
    mkdir -p "$OUT/pgbench"
    Q "SELECT DISTINCT ON (t.id) t.id, encode(s.token_hash, 'hex') FROM tenants t JOIN sessions s ON s.tenant_id = t.id
       WHERE t.email LIKE 'peer-%@example.com' AND s.revoked_at IS NULL AND s.expires_at > now()
       ORDER BY t.id, s.created_at DESC" > "$OUT/pgbench/tenants.txt"
    [ "$(wc -l < "$OUT/pgbench/tenants.txt")" -ge 1 ] || { log "error: no tenant with a session"; exit 1; }
    TX_ARGS=(); FULL_ARGS=(); n=0
    while IFS='|' read -r tid hash; do
        n=$((n + 1))
        tx="BEGIN;
SELECT set_config('app.tenant_id', '$tid', true);
SELECT $COLUMNS_SQL FROM tenants WHERE id = '$tid';
COMMIT;"
        echo "$tx" > "$OUT/pgbench/tx-$n.sql"
        { echo "SELECT * FROM auth_resolve_session(decode('$hash', 'hex'));"; echo "$tx"; } > "$OUT/pgbench/full-$n.sql"
        TX_ARGS+=(-f "$OUT/pgbench/tx-$n.sql@1"); FULL_ARGS+=(-f "$OUT/pgbench/full-$n.sql@1")
    done < "$OUT/pgbench/tenants.txt"
    # Both scripts must read what the server reads: the session's row and the tenant's row (row-level
    # security hides the tenant without the setting).
    first_tid=$(head -n1 "$OUT/pgbench/tenants.txt" | cut -d'|' -f1)
    seen=$(PGPASSWORD="$WAQTOR_DB_APP_PASSWORD" psql -h 127.0.0.1 -p "$WAQTOR_PG_PORT" -U waqtor_app -d "$DB" -Atq -X \
        -v ON_ERROR_STOP=1 -f "$OUT/pgbench/full-1.sql" | grep -c "$first_tid" || true)
    [ "$seen" = 3 ] || { log "error: the pgbench script does not read the session and the tenant (saw $seen rows naming it, expected 3)"; exit 1; }
    pgb() { # tx|full ROUND
        local -n args="${1^^}_ARGS"
        rm -f "$OUT/pgbench/log-$1-$2".*
        PGPASSWORD="$WAQTOR_DB_APP_PASSWORD" pgbench -h 127.0.0.1 -p "$WAQTOR_PG_PORT" -U waqtor_app -n -M extended \
            -c "$INFLIGHT" -j 2 -T $((PROFILE_DURATION + PROFILE_WARMUP)) -l --log-prefix="$OUT/pgbench/log-$1-$2" \
            "${args[@]}" "$DB" > "$OUT/pgbench/out-$1-$2.txt" 2>&1 \
            || { log "error: pgbench failed:"; tail -n 20 "$OUT/pgbench/out-$1-$2.txt" >&2; exit 1; }
    }
    for r in $(seq 1 "$ROUNDS"); do
        if [ $((r % 2)) -eq 1 ]; then order="waqtor tx full"; else order="full tx waqtor"; fi
        for side in $order; do
            log "round $r/$ROUNDS: $side"
            case $side in waqtor) profile "r$r" ;; *) pgb "$side" "r$r" ;; esac
        done
    done
fi

# --- 3. the webhook listener against a trivial endpoint -----------------------------------------
if has_part webhook; then
    log "3. webhook listener against a trivial HTTP endpoint (wrk -c $WEBHOOK_CONNECTIONS)"
    KEY=waqtor-dev-gateway-key
    GW="http://127.0.0.1:$GW_PORT"
    seq 1 "$NUMBERS" | xargs -P 4 -I{} env WAQTOR_CONFIG_DIR="$OUT/cli-1" .build/release/waqtor instance create --name "Line {}" --json >/dev/null
    for name in $(Q "SELECT gateway_name FROM instances ORDER BY gateway_name"); do
        secret=$(curl -s "$GW/webhook/find/$name" -H "apikey: $KEY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["headers"]["x-waqtor-webhook-secret"])')
        echo "$name $secret"
    done > "$OUT/numbers.txt"
    HP_PORT=$(free_port)
    "$HP" --port "$HP_PORT" >"$OUT/http-peer.log" 2>&1 &
    PIDS+=($!)
    wait_port "$HP_PORT" "$!" "$OUT/http-peer.log"
    # The body and headers of tools/bench-chat.sh: a new message id each, the numbers in turn, 1,000 senders.
    cat > "$OUT/post.lua" <<'LUA'
local numbers = {}
for line in io.lines(os.getenv("NUMBERS_FILE")) do
  local name, secret = line:match("(%S+) (%S+)")
  table.insert(numbers, {name = name, secret = secret})
end
local counter = 0
local thread_tag = 0
local threads = 0
local round = tonumber(os.getenv("ROUND_TAG") or "0")
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
  local id = string.format("3EB0%02X%02X%014X", round, thread_tag, counter)
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
    events() { Q "SELECT count(*) FROM webhook_events WHERE event = 'messages.upsert'"; }
    settle() { # wait (at most 60 s) until the chat projector has caught up, so that it does not run into the next measurement
        local stored; stored=$(events)
        for _ in $(seq 1 600); do [ "$(Q "SELECT count(*) FROM chat_messages")" -ge "$stored" ] && return; sleep 0.1; done
        log "warning: the projector had not caught up after 60 s"
    }
    post() { # waqtor|trivial TAG ROUND_NUMBER SECONDS
        local url before after
        if [ "$1" = waqtor ]; then url="http://127.0.0.1:$HOOK_PORT"; else url="http://127.0.0.1:$HP_PORT"; fi
        before=$(events)
        NUMBERS_FILE="$OUT/numbers.txt" ROUND_TAG="$3" wrk -t2 -c"$WEBHOOK_CONNECTIONS" -d"${4}s" --latency -s "$OUT/post.lua" "$url" \
            > "$OUT/webhook-$1-$2.txt"
        after=$(events)
        echo "stored $((after - before))" >> "$OUT/webhook-$1-$2.txt"
        if [ "$1" = waqtor ]; then settle; fi
    }
    log "warm-up (2 s each, not counted)"
    post waqtor warmup 90 2
    post trivial warmup 91 2
    for r in $(seq 1 "$ROUNDS"); do
        if [ $((r % 2)) -eq 1 ]; then order="waqtor trivial"; else order="trivial waqtor"; fi
        for side in $order; do
            log "round $r/$ROUNDS: $side"
            post "$side" "r$r" "$r" "$WEBHOOK_DURATION"
        done
    done
fi
cleanup; PIDS=()

# --- the table --------------------------------------------------------------------------------
python3 - "$OUT" "$ROUNDS" "$PARTS" "$(( $(date +%s) - T_START ))" <<'PY' | tee "$TABLE"
import glob, json, os, re, statistics, sys
out, rounds, parts, took = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), int(sys.argv[4])
meta = dict(line.rstrip("\n").split("=", 1) for line in open(f"{out}/all-machine.txt") if "=" in line)
med = statistics.median
R = range(1, rounds + 1)

def lat(us):
    if us is None: return "n/a"
    return f"{us:,.0f} µs" if us < 1000 else f"{us / 1000:,.1f} ms"

def row(name, load, unit, prod, peer, peer_name):
    """prod/peer: lists of dicts {rate, p50, p99, errors} per round (None where missing)."""
    pr = [x for x in prod if x]; pe = [x for x in peer if x]
    ratios = [a["rate"] / b["rate"] for a, b in zip(prod, peer) if a and b and b["rate"]]
    rate = lambda xs: f"{med(x['rate'] for x in xs):,.0f}" if xs else "n/a"
    pct = lambda xs: f"{lat(med(x['p50'] for x in xs))} / {lat(med(x['p99'] for x in xs))}" if xs else "n/a"
    errs = sum(x["errors"] for x in pr + pe)
    ratio = f"**{med(ratios):.2f}** ({', '.join(f'{x:.2f}' for x in ratios)})" if ratios else "n/a"
    print(f"| {name} | {load} | {rate(pr)} {unit} | {peer_name}: {rate(pe)} | {ratio} | {pct(pr)} | {pct(pe)} | {errs} |")

def ping(path):
    if not os.path.exists(path): return None
    o = json.load(open(path))
    return {"rate": o["calls_per_s"], "p50": o["latency"]["p50"], "p99": o["latency"]["p99"], "errors": sum(o["errors"].values())}

def pgbench(side, r):
    files = glob.glob(f"{out}/pgbench/log-{side}-r{r}.*")
    if not files: return None
    tx = []  # (start µs, end µs)
    for f in files:
        for line in open(f):
            p = line.split()
            end = int(p[4]) * 1_000_000 + int(p[5]); t = int(p[2])
            tx.append((end - t, end, t))
    warm = int(meta["profile"].split()[3]) * 1_000_000
    t0 = min(s for s, _, _ in tx) + warm
    kept = [t for s, e, t in tx if s >= t0]
    last = max(e for s, e, _ in tx if s >= t0)
    kept.sort()
    q = lambda f: kept[min(len(kept) - 1, int(f * len(kept)))]
    failed = 0
    txt = open(f"{out}/pgbench/out-{side}-r{r}.txt").read()
    m = re.search(r"number of failed transactions: (\d+)", txt)
    if m: failed = int(m.group(1))
    return {"rate": len(kept) / ((last - t0) / 1e6), "p50": q(0.5), "p99": q(0.99), "errors": failed}

def wrk(side, r):
    path = f"{out}/webhook-{side}-r{r}.txt"
    if not os.path.exists(path): return None
    txt = open(path).read()
    def dur(s):
        v, u = re.match(r"([\d.]+)(us|ms|s)", s).groups()
        return float(v) * {"us": 1, "ms": 1e3, "s": 1e6}[u]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", txt)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", txt)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"rate": float(re.search(r"Requests/sec:\s+([\d.]+)", txt).group(1)),
            "p50": dur(re.search(r"\s50%\s+(\S+)", txt).group(1)), "p99": dur(re.search(r"\s99%\s+(\S+)", txt).group(1)),
            "errors": errors, "stored": int(re.search(r"stored (\d+)", txt).group(1))}

c, m, pdur, pwarm = meta["profile"].split()
wc, wdur, numbers = meta["webhook"].split()
print(f"Commit {meta['commit']}, {meta['date']}; {meta['cpu']}; {rounds} rounds per comparison, product and peer "
      f"interleaved (order alternating); ratio = product / peer, median of the rounds (each round's in brackets); "
      f"{took // 60} min {took % 60} s in all.")
print()
print("| Comparison | Load | WaQtor | Peer | Ratio | WaQtor p50 / p99 | Peer p50 / p99 | Errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
notes = []
if "rpc" in parts:
    notes.append("(a) `waqtor-load serve --async-ping` (Ping as an ordinary async handler) driven by `waqtor-load ping "
                 "--async-api --payload-size 64` (RPCClient.unary from C × M tasks), beside `grpc-peer serve` (grpc-swift-2 "
                 "2.4.3 + grpc-swift-nio-transport 2.9.2: raw-bytes unary echo, async handler, HTTP/2 plaintext over NIOPosix) "
                 "driven by `grpc-peer load` (GRPCClient.unary from C × M tasks, one GRPCClient per connection); 64-byte "
                 "payload; every call of both with a 10 s deadline, except the row that says otherwise.")
    rpc_rows = [("1x1", "grpc", ""), ("50x32", "grpc", "")]
    if os.path.exists(f"{out}/rpc-grpc-nodeadline-50x32-r1.json"):
        rpc_rows.append(("50x32", "grpc-nodeadline", ", grpc-swift-2 without deadlines"))
    for cm, peer, note in rpc_rows:
        cc, mm = cm.split("x")
        row("RPC (a): WaQtor RPC vs grpc-swift-2" + note,
            f"{cc} conn. × {mm} in flight, {meta['rpc'].split()[0]} s", "calls/s",
            [ping(f"{out}/rpc-waqtor-{cm}-r{r}.json") for r in R], [ping(f"{out}/rpc-{peer}-{cm}-r{r}.json") for r in R],
            "grpc-swift-2")
if "profile" in parts:
    prod = [ping(f"{out}/profile-waqtor-r{r}.json") for r in R]
    notes.append("(b) `waqtor-load profile` (TenantService.GetProfile with a session: the server looks the session up, "
                 "then runs BEGIN; set_config('app.tenant_id', …, true); the profile SELECT; COMMIT) against pgbench "
                 "on the same database as the same role (waqtor_app, row-level security on), one script per tenant, "
                 "first the tenant transaction alone, then with the session lookup (`auth_resolve_session`) before it: "
                 "every statement the server sends. The server's pool has as many connections as pgbench has clients.")
    load = f"{int(c) * int(m)} in flight ({c} conn. × {m}; pgbench -c {int(c) * int(m)} -j 2 -M extended), {pdur} s"
    row("GetProfile (b) vs pgbench: tenant transaction", load, "reads/s",
        prod, [pgbench("tx", r) for r in R], "pgbench tps")
    row("GetProfile (b) vs pgbench: session lookup + tenant transaction", load, "reads/s",
        prod, [pgbench("full", r) for r in R], "pgbench tps")
if "webhook" in parts:
    prod = [wrk("waqtor", r) for r in R]
    row("Webhook listener (c) vs trivial endpoint",
        f"wrk -t2 -c{wc}, {wdur} s, {numbers} numbers", "posts/s", prod, [wrk("trivial", r) for r in R], "http-peer req/s")
    stored = [x["stored"] for x in prod if x]
    notes.append("(c) wrk posts Evolution-shaped `messages.upsert` bodies (tools/bench-chat.sh's Lua script) to the "
                 "server's webhook listener, which authenticates, parses and stores each (group commit) before its 200; "
                 "the peer is `http-peer` (tools/grpc-peer): the same SwiftNIO HTTP/1.1 pipeline answering 200 at once. "
                 f"Rows stored per round: {', '.join(f'{s:,}' for s in stored)}.")
if "profile" in parts and not any(os.path.exists(f"{out}/profile-waqtor-r{r}.json") for r in R):
    notes.append("GetProfile: not measured (`waqtor-load profile` missing or failing in this build): the rows await that scenario.")
print()
for n in notes: print(f"- {n}")
PY
log "table: $TABLE; raw outputs: $OUT"
