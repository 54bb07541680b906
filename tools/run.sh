#!/usr/bin/env bash
# The run command: sets up this machine (Debian packages, local PostgreSQL and Redis shards under
# the data folder), builds the server in release mode and runs it in the foreground on
# 127.0.0.1:${WAQTOR_RPC_PORT:-7420}. Stop it with Ctrl-C (or SIGTERM): it drains and exits.
# Extra arguments go to `waqtor-server serve` (e.g. --set log.format=text).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$WAQTOR_ROOT/tools/setup.sh"
cd "$WAQTOR_ROOT"
echo "[run] building waqtor-server (release)"
swift build -c release --product waqtor-server
export WAQTOR_DATABASE_URL="${WAQTOR_DATABASE_URL:-$(waqtor_db_url waqtor_app "$WAQTOR_DB_APP_PASSWORD" "$WAQTOR_DB_NAME")}"
export WAQTOR_DATABASE_MIGRATION_URL="${WAQTOR_DATABASE_MIGRATION_URL:-$(waqtor_db_url waqtor_owner "$WAQTOR_DB_OWNER_PASSWORD" "$WAQTOR_DB_NAME")}"
export WAQTOR_REDIS_SHARDS="${WAQTOR_REDIS_SHARDS:-$(waqtor_redis_shards)}"
echo "[run] starting waqtor-server on ${WAQTOR_RPC_HOST:-127.0.0.1}:${WAQTOR_RPC_PORT:-7420} (Ctrl-C to stop)"
exec "$WAQTOR_ROOT/.build/release/waqtor-server" serve "$@"
