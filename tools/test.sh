#!/usr/bin/env bash
# The test command: the same set-up as the run command (Debian packages, local PostgreSQL and
# Redis shards), then the whole test suite against those real servers, then the fast rows of the
# fault suite (tools/faults.sh --fast) and a minute of fuzzing (tools/fuzz.sh 60). Extra arguments
# go to `swift test` (e.g. --filter WaqtorRPCTests), and then faults and fuzzing are skipped.
#
# `tools/test.sh --unit` runs only the unit targets (every test target but the *IntegrationTests
# ones): no PostgreSQL or Redis is needed or started, only the Swift toolchain and the C libraries.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [ "${1:-}" = "--unit" ]; then
    shift
    cd "$WAQTOR_ROOT"
    echo "[test] building (unit targets only; no servers)"
    swift build --build-tests
    echo "[test] running unit tests"
    exec swift test --skip-build --skip IntegrationTests "$@"
fi
"$WAQTOR_ROOT/tools/setup.sh"
cd "$WAQTOR_ROOT"
export WAQTOR_TEST_DATABASE_URL="${WAQTOR_TEST_DATABASE_URL:-$(waqtor_db_url waqtor_app "$WAQTOR_DB_APP_PASSWORD" "$WAQTOR_TEST_DB_NAME")}"
export WAQTOR_TEST_DATABASE_OWNER_URL="${WAQTOR_TEST_DATABASE_OWNER_URL:-$(waqtor_db_url waqtor_owner "$WAQTOR_DB_OWNER_PASSWORD" "$WAQTOR_TEST_DB_NAME")}"
export WAQTOR_TEST_REDIS_SHARDS="${WAQTOR_TEST_REDIS_SHARDS:-$(waqtor_redis_shards)}"
echo "[test] building"
swift build --build-tests
# At most 64 tests run at once (Swift Testing would start all 700 together): with every test's
# servers, pools and clients starting in the same seconds on 2 cores, calls waited past their
# 10 s timeouts. The whole run takes no longer (about 200 s either way). When this machine allows
# fewer than 2048 open files (tools/env.sh raises the limit as far as it may), 32.
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt 2048 ]; then
    echo "[test] only $(ulimit -Sn) open files allowed: running at most 32 tests at once"
    export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-32}"
else
    export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-64}"
fi
# A crash prints the crashed thread only: with thousands of threads alive, a backtrace of all of
# them takes minutes to hours.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=yes,threads=crashed,images=none}"
# The tests take about 4 minutes here; a run still going after WAQTOR_TEST_TIMEOUT is stuck, and is
# stopped (the whole process group) so that the run ends with a failure instead of running on.
echo "[test] running (open files allowed: $(ulimit -Sn))"
status=0
timeout --kill-after=30s "${WAQTOR_TEST_TIMEOUT:-40m}" swift test --skip-build "$@" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "[test] the tests did not finish within ${WAQTOR_TEST_TIMEOUT:-40m}: stopped" >&2
fi
if [ "$status" -ne 0 ]; then
    # swift test runs the test binary in a process group of its own, and a test process that
    # crashed or was stopped leaves the servers its tests started: they go too.
    pkill -KILL -f "$WAQTOR_ROOT/.build/.*/waqtorPackageTests.xctest" || true
    pkill -KILL -f "$WAQTOR_ROOT/.build/.*/waqtor-server" || true
fi
[ "$status" -eq 0 ] || exit "$status"
if [ $# -eq 0 ]; then
    # The fast rows of the fault suite (docs/RELIABILITY.md): a PostgreSQL restart, a Redis shard
    # killed and a SIGTERM, each under load; fails when a message is lost or sent twice, a call gets
    # a wrong status or passes its deadline, or the server does not recover.
    echo "[test] fault suite, fast rows"
    SKIP_BUILD=1 bash tools/faults.sh --fast
    # A minute of fuzzing in all, every decoder from its committed seeds (docs/RELIABILITY.md).
    echo "[test] fuzzing, 60 s in all"
    bash tools/fuzz.sh 60
fi
