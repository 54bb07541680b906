#!/usr/bin/env bash
# Prepares this machine for running or testing WaqtorCore, idempotently:
#   1. installs the Debian packages the build, the tests and the code generator need;
#   2. starts a local PostgreSQL (as the unprivileged `postgres` user: initdb refuses root) and two
#      Redis shards, all under the data folder ($WAQTOR_DATA, default .data/), on loopback only;
#   3. creates the roles (owner and application) and the databases.
# Safe to run again: what is already installed or running is left as it is.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { printf '[setup] %s\n' "$*"; }

PACKAGES=(
    libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev python3-protobuf
    libpq-dev libhiredis-dev libcurl4-openssl-dev libargon2-dev libphonenumber-dev pkg-config
    postgresql postgresql-contrib redis-server redis-tools ca-certificates python3 tzdata
)

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then log "Debian packages present"; return; fi
    log "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >/dev/null
    # The Debian postgresql package would create and start its own cluster; ours lives in the data
    # folder, so stop the package's service from being started by the install.
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    [ -n "$dir" ] || { echo "PostgreSQL binaries not found under /usr/lib/postgresql" >&2; exit 1; }
    echo "$dir"
}

# Runs a command as the `postgres` user when we are root (initdb and postgres refuse root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_postgres() {
    local bin pgdata="$WAQTOR_DATA/postgres" sock="$WAQTOR_DATA/run"
    bin=$(pg_bin)
    mkdir -p "$WAQTOR_DATA" "$sock"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
        chown postgres "$sock"
        # The data folder may sit under a root-owned checkout: postgres needs to traverse it.
        chmod o+x "$WAQTOR_DATA"
    fi
    if [ ! -s "$pgdata/PG_VERSION" ]; then
        log "initdb $pgdata"
        mkdir -p "$pgdata"
        [ "$(id -u)" -ne 0 ] || chown postgres "$pgdata"
        chmod 700 "$pgdata"
        as_pg "$bin/initdb" -D "$pgdata" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >"$WAQTOR_DATA/initdb.log" 2>&1 \
            || { cat "$WAQTOR_DATA/initdb.log" >&2; exit 1; }
    fi
    if as_pg "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
        log "PostgreSQL already running on port $WAQTOR_PG_PORT"
    else
        log "starting PostgreSQL on 127.0.0.1:$WAQTOR_PG_PORT"
        touch "$WAQTOR_DATA/postgres.log"
        [ "$(id -u)" -ne 0 ] || chown postgres "$WAQTOR_DATA/postgres.log"
        as_pg "$bin/pg_ctl" -D "$pgdata" -l "$WAQTOR_DATA/postgres.log" -w -t 60 \
            -o "-p $WAQTOR_PG_PORT -c listen_addresses=127.0.0.1 -k $sock -c max_connections=200 -c fsync=on" \
            start >/dev/null || { tail -n 30 "$WAQTOR_DATA/postgres.log" >&2; exit 1; }
    fi
    local psql=("$bin/psql" -h "$sock" -p "$WAQTOR_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q -X)
    as_pg "${psql[@]}" -d postgres <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'waqtor_owner') THEN
        CREATE ROLE waqtor_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'waqtor_app') THEN
        CREATE ROLE waqtor_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
\$\$;
ALTER ROLE waqtor_owner PASSWORD '$WAQTOR_DB_OWNER_PASSWORD';
ALTER ROLE waqtor_app PASSWORD '$WAQTOR_DB_APP_PASSWORD' NOBYPASSRLS;
SQL
    local db
    for db in "$WAQTOR_DB_NAME" "$WAQTOR_TEST_DB_NAME"; do
        if ! as_pg "${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
            log "creating database $db"
            as_pg "${psql[@]}" -d postgres -c "CREATE DATABASE $db OWNER waqtor_owner"
        fi
        as_pg "${psql[@]}" -d "$db" -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO waqtor_owner; GRANT USAGE ON SCHEMA public TO waqtor_app; GRANT CONNECT ON DATABASE $db TO waqtor_app;"
    done
}

start_redis() {
    local port dir
    for port in $WAQTOR_REDIS_PORTS; do
        dir="$WAQTOR_DATA/redis-$port"
        mkdir -p "$dir"
        if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
            log "Redis shard already running on port $port"
            continue
        fi
        log "starting Redis shard on 127.0.0.1:$port"
        redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
            --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
            --appendonly yes --appendfsync everysec --save "" --protected-mode yes
        local i
        for i in $(seq 1 100); do
            redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && break
            sleep 0.1
        done
        redis-cli -h 127.0.0.1 -p "$port" ping | grep -q PONG || { cat "$dir/redis.log" >&2; exit 1; }
    done
}

install_packages
start_postgres
start_redis
log "ready: PostgreSQL 127.0.0.1:$WAQTOR_PG_PORT, Redis $(waqtor_redis_shards), data in $WAQTOR_DATA"
