# Shared settings for the project's scripts (sourced, not run). Every value can be overridden from
# the environment; docs/CONFIGURATION.md lists them.
WAQTOR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${WAQTOR_DATA:=$WAQTOR_ROOT/.data}"
: "${WAQTOR_PG_PORT:=54329}"
: "${WAQTOR_REDIS_PORTS:=63790 63791}"
: "${WAQTOR_DB_NAME:=waqtor}"
: "${WAQTOR_TEST_DB_NAME:=waqtor_test}"
: "${WAQTOR_DB_OWNER_PASSWORD:=waqtor-owner-dev}"
: "${WAQTOR_DB_APP_PASSWORD:=waqtor-app-dev}"
export WAQTOR_ROOT WAQTOR_DATA WAQTOR_PG_PORT WAQTOR_REDIS_PORTS WAQTOR_DB_NAME WAQTOR_TEST_DB_NAME
export WAQTOR_DB_OWNER_PASSWORD WAQTOR_DB_APP_PASSWORD

waqtor_redis_shards() {
    local out="" p
    for p in $WAQTOR_REDIS_PORTS; do out="${out:+$out,}127.0.0.1:$p"; done
    echo "$out"
}

waqtor_db_url() { # role password database
    echo "postgresql://$1:$2@127.0.0.1:$WAQTOR_PG_PORT/$3"
}
