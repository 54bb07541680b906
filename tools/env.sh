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

# Open files. Many machines start processes with a soft limit of 1024 descriptors, which the test
# process passes at its peak (hundreds of in-process servers, pools and clients at once: about
# 1,400), and which a server's webhook listener alone may need (webhook.max_connections). Every
# script raises the soft limit to 65536, or to the hard limit when that is lower and cannot be
# raised (root may raise it). The server raises its own soft limit too (docs/OPERATIONS.md).
waqtor_raise_open_files() {
    local want=65536 hard
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
        ulimit -Hn "$want" 2>/dev/null || true
        hard=$(ulimit -Hn)
    fi
    if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then
        ulimit -Sn "$want" 2>/dev/null || true
    else
        ulimit -Sn "$hard" 2>/dev/null || true
    fi
}
waqtor_raise_open_files
