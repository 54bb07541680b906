#!/usr/bin/env bash
# Counts heap allocations per unary call in the RPC server process.
#
# The server (`waqtor-load serve`, release build) runs under an LD_PRELOAD shim
# (tools/malloc-count.c) that counts malloc/calloc/realloc/posix_memalign/aligned_alloc… in every
# thread and writes its counters on SIGUSR2. After a warm-up, a separate client process makes N
# sequential Pings on one fresh connection, then another makes 2N; each batch pays the same
# connection set-up and tear-down, so
#     allocations per call = (allocs(2N batch) - allocs(N batch)) / N.
# The same is repeated with calls multiplexed (1 connection × 32 in flight).
#
# Usage: tools/count-allocations.sh [N]          (default N=20000)
# Env:   SKIP_BUILD=1   use the existing .build/release binaries
#        BENCH_SERVER_CMD='path/to/server --port %PORT%'   another server to measure
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${1:-20000}
BIN=.build/release
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 20000))
}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "building (release)…" >&2
    swift build -c release --product waqtor-load >&2
fi
cc -O2 -shared -fPIC -o "$WORK/malloc-count.so" tools/malloc-count.c

PORT=$(free_port)
SERVER_CMD=${BENCH_SERVER_CMD:-"$BIN/waqtor-load serve --port %PORT%"}
SERVER_CMD=${SERVER_CMD//%PORT%/$PORT}
MALLOC_COUNT_FILE="$WORK/count" LD_PRELOAD="$WORK/malloc-count.so" $SERVER_CMD >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    "$BIN/waqtor-load" ping --server "127.0.0.1:$PORT" --requests 1 --warmup 0 >/dev/null 2>&1 && break
    sleep 0.1
done

snapshot() { # prints the total allocation count of the server so far
    rm -f "$WORK/count"
    kill -USR2 "$SERVER_PID"
    for _ in $(seq 50); do [ -s "$WORK/count" ] && break; sleep 0.02; done
    sed -E 's/^allocs=([0-9]+).*/\1/' "$WORK/count"
}

batch() { # connections in-flight requests -> allocations in the server during one client process
    local before after
    sleep 0.3; before=$(snapshot)
    "$BIN/waqtor-load" ping --server "127.0.0.1:$PORT" -c "$1" -m "$2" --requests "$3" --warmup 0 --json >/dev/null
    sleep 0.3; after=$(snapshot)
    echo $((after - before))
}

# Warm-up: lazy initialisation, pools, caches.
"$BIN/waqtor-load" ping --server "127.0.0.1:$PORT" -c 1 -m 32 --requests 20000 --warmup 0 >/dev/null
"$BIN/waqtor-load" ping --server "127.0.0.1:$PORT" -c 1 -m 1 --requests 5000 --warmup 0 >/dev/null

report() { # label connections in-flight
    local a1 a2
    a1=$(batch "$2" "$3" "$N")
    a2=$(batch "$2" "$3" $((2 * N)))
    awk -v l="$1" -v a1="$a1" -v a2="$a2" -v n="$N" 'BEGIN {
        printf "%-28s allocs(N=%d)=%d  allocs(2N)=%d  per call=%.2f\n", l, n, a1, a2, (a2 - a1) / n }'
}

echo "server: $SERVER_CMD (LD_PRELOAD malloc counter)"
report "sequential (1 conn x 1)" 1 1
report "multiplexed (1 conn x 32)" 1 32
