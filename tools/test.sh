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
echo "[test] running"
swift test --skip-build "$@"
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
