#!/usr/bin/env bash
# Stops the local PostgreSQL and Redis shards that tools/setup.sh started (the data stays).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [ -s "$WAQTOR_DATA/postgres/PG_VERSION" ]; then
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$bin/pg_ctl" -D "$WAQTOR_DATA/postgres" -m fast stop
    else "$bin/pg_ctl" -D "$WAQTOR_DATA/postgres" -m fast stop; fi
fi
for port in $WAQTOR_REDIS_PORTS; do redis-cli -h 127.0.0.1 -p "$port" shutdown nosave 2>/dev/null || true; done
