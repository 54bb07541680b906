#!/usr/bin/env bash
# RPC runtime benchmark: `waqtor-load ping` against our server, beside `redis-benchmark -t ping`
# against a throwaway redis-server, at the same connections (C) and calls in flight (M / -P),
# in one run. Prints a table with the ratios ours/redis. See docs/BENCHMARKS.md.
#
# Usage: tools/bench-rpc.sh
# Env:   DURATION=10 WARMUP=2     seconds per waqtor-load run (after the warm-up)
#        REDIS_N1=300000 REDIS_N2=10000000   requests per redis-benchmark run (1×1, 50×32)
#        SKIP_BUILD=1             use the existing .build/release binaries
#        BIN=dir                  take waqtor-load from there (default .build/release; implies
#                                 SKIP_BUILD=1 when set to another build)
#        BENCH_SERVER_CMD='…/waqtor-server --port %PORT%'   server to start instead of
#                                 `waqtor-load serve` (%PORT% is replaced by a free port)
#        OUT=dir                  keep the raw outputs there (default: a temporary directory)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
REDIS_N1=${REDIS_N1:-$((DURATION * 30000))}
REDIS_N2=${REDIS_N2:-$((DURATION * 1000000))}
BIN=${BIN:-.build/release}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
SERVER_PID=""
REDIS_PID=""

stop_pid() {
    if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
cleanup() { stop_pid "$SERVER_PID"; stop_pid "$REDIS_PID"; }
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 20000))
}

for tool in redis-server redis-benchmark python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done

if [ "${SKIP_BUILD:-0}" != 1 ] && [ "$BIN" = .build/release ]; then
    echo "== building (release)" >&2
    swift build -c release --product waqtor-load >&2
fi

{
    echo "date:  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu:   $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') × $(nproc)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
} | tee "$OUT/machine.txt"

# --- ours -------------------------------------------------------------------------------------
PORT=$(free_port)
SERVER_CMD=${BENCH_SERVER_CMD:-"$BIN/waqtor-load serve --port %PORT%"}
SERVER_CMD=${SERVER_CMD//%PORT%/$PORT}
echo "== server: $SERVER_CMD" >&2
$SERVER_CMD >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
wait_server() {
    for _ in $(seq 100); do
        "$BIN/waqtor-load" ping --server "127.0.0.1:$PORT" --requests 1 --warmup 0 >/dev/null 2>&1 && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "error: the server exited:" >&2; cat "$OUT"/server*.log >&2; exit 1; }
        sleep 0.1
    done
    echo "error: the server did not answer within 10 s" >&2
    exit 1
}
wait_server

ours() { # TAG C M [waqtor-load flags...]
    local tag=$1 c=$2 m=$3
    shift 3
    echo "== waqtor-load ping -c $c -m $m --duration $DURATION --warmup $WARMUP $*" >&2
    "$BIN/waqtor-load" ping --server "127.0.0.1:$PORT" --connections "$c" --in-flight "$m" \
        --duration "$DURATION" --warmup "$WARMUP" --json "$@" | tee "$OUT/ours-$tag.json" >&2
}
# Through RPCClient (what services use), then with the --raw engine, which speaks the protocol
# directly as redis-benchmark speaks RESP.
ours client-1x1 1 1
ours async-api-1x1 1 1 --async-api
ours raw-1x1 1 1 --raw
ours client-50x32 50 32
ours async-api-50x32 50 32 --async-api
ours async-api-on-loop-50x32 50 32 --async-api --on-loop
ours client-50x32-pipelined 50 32 --pipeline
ours raw-50x32 50 32 --raw
ours raw-50x32-pipelined 50 32 --raw --pipeline
stop_pid "$SERVER_PID"; SERVER_PID=""

if [ -z "${BENCH_SERVER_CMD:-}" ]; then
    # The same server with Ping as an ordinary async handler (a Swift task per call), which is
    # what every handler that does I/O pays.
    PORT=$(free_port)
    echo "== server: $BIN/waqtor-load serve --async-ping --port $PORT" >&2
    "$BIN/waqtor-load" serve --async-ping --port "$PORT" >"$OUT/server-async.log" 2>&1 &
    SERVER_PID=$!
    wait_server
    # The path services use end to end: async handlers called through `RPCClient.unary` from tasks.
    ours async-async-api-50x32 50 32 --async-api
    # The same, with the calling tasks on their connection's event loop (RPCClient.taskExecutor).
    ours async-async-api-on-loop-50x32 50 32 --async-api --on-loop
    ours async-client-50x32 50 32
    ours async-raw-50x32-pipelined 50 32 --raw --pipeline
    stop_pid "$SERVER_PID"; SERVER_PID=""
fi

# --- redis ------------------------------------------------------------------------------------
RPORT=$(free_port)
echo "== redis-server --port $RPORT --save '' --appendonly no" >&2
redis-server --port "$RPORT" --save '' --appendonly no --bind 127.0.0.1 >"$OUT/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

redis() { # C P N
    echo "== redis-benchmark -t ping -c $1 -P $2 -n $3" >&2
    redis-benchmark -h 127.0.0.1 -p "$RPORT" -t ping -c "$1" -P "$2" -n "$3" --csv | tee "$OUT/redis-$1x$2.csv" >&2
}
redis 1 1 "$REDIS_N1"
redis 50 32 "$REDIS_N2"
stop_pid "$REDIS_PID"; REDIS_PID=""

# --- table ------------------------------------------------------------------------------------
python3 - "$OUT" <<'PY'
import csv, json, sys
out = sys.argv[1]
print()
print("| C × M, client | ours calls/s | redis PING_MBULK req/s | ratio | ours p50 µs | redis p50 µs | ours p99 µs | redis p99 µs | ours p99.9 / max µs | ours p99.9 ÷ p50 |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
import os
runs = [
    ("client-1x1", "1 × 1, RPCClient", 1, 1),
    ("async-api-1x1", "1 × 1, RPCClient.unary from a task", 1, 1),
    ("raw-1x1", "1 × 1, raw", 1, 1),
    ("client-50x32", "50 × 32, RPCClient, closed loops", 50, 32),
    ("async-api-50x32", "50 × 32, RPCClient.unary from 1,600 tasks, closed loops", 50, 32),
    ("async-api-on-loop-50x32", "50 × 32, RPCClient.unary from 1,600 tasks on the client's event loop (--on-loop)", 50, 32),
    ("client-50x32-pipelined", "50 × 32, RPCClient, pipelined", 50, 32),
    ("raw-50x32", "50 × 32, raw, closed loops", 50, 32),
    ("raw-50x32-pipelined", "50 × 32, raw, pipelined (as redis-benchmark -P 32)", 50, 32),
    ("async-async-api-50x32", "50 × 32, RPCClient.unary from 1,600 tasks, Ping as an async handler", 50, 32),
    ("async-async-api-on-loop-50x32", "50 × 32, RPCClient.unary from 1,600 tasks on the client's event loop (--on-loop), Ping as an async handler", 50, 32),
    ("async-client-50x32", "50 × 32, RPCClient (startUnary), closed loops, Ping as an async handler", 50, 32),
    ("async-raw-50x32-pipelined", "50 × 32, raw, pipelined, Ping as an async handler", 50, 32),
]
for tag, label, c, m in runs:
    path = f"{out}/ours-{tag}.json"
    if not os.path.exists(path):
        continue
    o = json.load(open(path))
    rows = {r["test"]: r for r in csv.DictReader(open(f"{out}/redis-{c}x{m}.csv"))}
    r = rows.get("PING_MBULK") or next(iter(rows.values()))
    rps = float(r["rps"])
    errs = sum(o["errors"].values())
    note = f" ({errs} errors)" if errs else ""
    print(f"| {label} | {o['calls_per_s']:.0f}{note} | {rps:.0f} | {o['calls_per_s'] / rps:.2f} | "
          f"{o['latency']['p50']:.1f} | {float(r['p50_latency_ms']) * 1000:.1f} | "
          f"{o['latency']['p99']:.1f} | {float(r['p99_latency_ms']) * 1000:.1f} | "
          f"{o['latency']['p99_9']:.1f} / {o['latency']['max']:.1f} | "
          f"{o['latency']['p99_9'] / max(o['latency']['p50'], 0.001):.1f} |")
print()
print(f"raw outputs: {out}")
PY
