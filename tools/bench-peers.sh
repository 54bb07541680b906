#!/usr/bin/env bash
# The RPC against grpc-swift-2, in the same run (docs/BENCHMARKS.md, "Peers, in the same run"):
# WaQtor's RPC (`waqtor-load serve --async-ping`: Ping as an ordinary async handler, driven by
# `waqtor-load ping --async-api`: RPCClient.unary awaited from tasks) beside grpc-swift-2 2.4.3 with
# grpc-swift-nio-transport 2.9.2 (`tools/grpc-peer`: a unary echo of raw bytes with an async
# handler, HTTP/2 plaintext over NIOPosix, driven by `grpc-peer load`: GRPCClient.unary awaited
# from tasks), both with a 64-byte payload, at 1 × 1 and 50 × 32, ROUNDS rounds, interleaved (both
# servers run the whole time; the order of the two alternates from round to round). Prints a table
# with the ratios waqtor / grpc-swift-2 (medians of the rounds, and each round's). Every call of
# both carries a 10 s deadline; at the largest configuration, grpc-swift-2 is also run without one
# (NO_DEADLINE=0 to skip), to show what its deadlines cost it.
# Needs no database. tools/bench-all.sh runs this as its first part.
#
# Usage: tools/bench-peers.sh
# Env:   ROUNDS=3 DURATION=6 WARMUP=1 PAYLOAD=64   rounds; seconds per run after the warm-up
#        CONFIGS="1x1 50x32"      connections × calls in flight per connection
#        NO_DEADLINE=1            also grpc-swift-2 without a deadline at the last of CONFIGS
#        SKIP_BUILD=1             use the existing release binaries (both packages)
#        OUT=dir                  keep the raw outputs there (default: a temporary directory)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-6}
WARMUP=${WARMUP:-1}
PAYLOAD=${PAYLOAD:-64}
CONFIGS=${CONFIGS:-"1x1 50x32"}
NO_DEADLINE=${NO_DEADLINE:-1}
LAST_CONFIG=${CONFIGS##* }
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
WL=.build/release/waqtor-load
GP=tools/grpc-peer/.build/release/grpc-peer
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    done
}
trap cleanup EXIT
log() { echo "[bench-peers] $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # PORT PID LOG
    for _ in $(seq 1 200); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { log "error: the server exited:"; cat "$3" >&2; exit 1; }
        sleep 0.1
    done
    log "error: nothing listens on $1 after 20 s"; exit 1
}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building (release): waqtor-load"
    swift build -c release --product waqtor-load >&2
    log "building (release): tools/grpc-peer"
    (cd tools/grpc-peer && swift build -c release --product grpc-peer >&2)
fi
for bin in "$WL" "$GP"; do [ -x "$bin" ] || { log "error: $bin is missing (build without SKIP_BUILD=1)"; exit 1; }; done

{
    echo "date:   $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "cpu:    $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') × $(nproc)"
} > "$OUT/rpc-machine.txt"

WPORT=$(free_port)
"$WL" serve --async-ping --port "$WPORT" >"$OUT/rpc-waqtor-server.log" 2>&1 &
PIDS+=($!)
wait_port "$WPORT" "$!" "$OUT/rpc-waqtor-server.log"
GPORT=$(free_port)
"$GP" serve --port "$GPORT" >"$OUT/rpc-grpc-server.log" 2>&1 &
PIDS+=($!)
wait_port "$GPORT" "$!" "$OUT/rpc-grpc-server.log"
log "servers: waqtor-load serve --async-ping on $WPORT, grpc-peer serve on $GPORT"

waqtor() { # C M ROUND
    "$WL" ping --server "127.0.0.1:$WPORT" -c "$1" -m "$2" --async-api --payload-size "$PAYLOAD" \
        --duration "$DURATION" --warmup "$WARMUP" --json > "$OUT/rpc-waqtor-$1x$2-r$3.json"
}
grpc() { # C M ROUND
    "$GP" load --server "127.0.0.1:$GPORT" -c "$1" -m "$2" --payload-size "$PAYLOAD" --timeout 10 \
        --duration "$DURATION" --warmup "$WARMUP" --json > "$OUT/rpc-grpc-$1x$2-r$3.json"
}
grpc_no_deadline() { # C M ROUND
    "$GP" load --server "127.0.0.1:$GPORT" -c "$1" -m "$2" --payload-size "$PAYLOAD" --timeout 0 \
        --duration "$DURATION" --warmup "$WARMUP" --json > "$OUT/rpc-grpc-nodeadline-$1x$2-r$3.json"
}
for r in $(seq 1 "$ROUNDS"); do
    for cm in $CONFIGS; do
        c=${cm%x*}; m=${cm#*x}
        if [ $((r % 2)) -eq 1 ]; then order="waqtor grpc"; else order="grpc waqtor"; fi
        if [ "$NO_DEADLINE" = 1 ] && [ "$cm" = "$LAST_CONFIG" ]; then
            if [ $((r % 2)) -eq 1 ]; then order="$order grpc_no_deadline"; else order="grpc_no_deadline $order"; fi
        fi
        for side in $order; do
            log "round $r/$ROUNDS, ${c} × ${m}: $side"
            $side "$c" "$m" "$r"
        done
    done
done
cleanup; PIDS=()

python3 - "$OUT" "$ROUNDS" "$CONFIGS" <<'PY' | tee "$OUT/rpc-table.md"
import json, os, statistics, sys
out, rounds, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
def load(side, cm, r): return json.load(open(f"{out}/rpc-{side}-{cm}-r{r}.json"))
med = statistics.median
print("| C × M (64 B, async handler, async client) | waqtor calls/s | grpc-swift-2 calls/s | ratio (median; rounds) | waqtor p50 / p99 µs | grpc-swift-2 p50 / p99 µs | errors |")
print("|---|---:|---:|---:|---:|---:|---:|")
rows = [(cm, "grpc", "") for cm in configs]
if os.path.exists(f"{out}/rpc-grpc-nodeadline-{configs[-1]}-r1.json"):
    rows.append((configs[-1], "grpc-nodeadline", ", grpc-swift-2 without a deadline"))
for cm, peer, note in rows:
    w = [load("waqtor", cm, r) for r in range(1, rounds + 1)]
    g = [load(peer, cm, r) for r in range(1, rounds + 1)]
    ratios = [a["calls_per_s"] / b["calls_per_s"] if b["calls_per_s"] else float("nan") for a, b in zip(w, g)]
    errs = sum(sum(x["errors"].values()) for x in w + g)
    c, m = cm.split("x")
    print(f"| {c} × {m}{note} | {med(x['calls_per_s'] for x in w):,.0f} | {med(x['calls_per_s'] for x in g):,.0f} | "
          f"**{med(ratios):.2f}** ({', '.join(f'{x:.2f}' for x in ratios)}) | "
          f"{med(x['latency']['p50'] for x in w):,.1f} / {med(x['latency']['p99'] for x in w):,.1f} | "
          f"{med(x['latency']['p50'] for x in g):,.1f} / {med(x['latency']['p99'] for x in g):,.1f} | {errs} |")
PY
log "raw outputs: $OUT"
