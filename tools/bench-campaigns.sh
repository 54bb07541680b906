#!/usr/bin/env bash
# Contacts and campaigns at scale, each against a plain PostgreSQL reference measured in the same
# run (docs/BENCHMARKS.md, "Contacts and campaigns"):
#   1. importing N contacts from a CSV file through the CLI (ImportContacts, 10,000-row calls)
#      against `\copy` of the same file into a plain table;
#   2. starting a campaign to those N contacts (audience materialised, numbers assigned, texts
#      rendered) against an INSERT ... SELECT of N rows of the same width;
#   and the server's peak resident set during each.
# Uses the local PostgreSQL and Redis of tools/setup.sh and a throwaway database waqtor_bench.
#
# Usage: tools/bench-campaigns.sh            (N=1000000)
# Env:   N=200000  SKIP_BUILD=1  KEEP=1 (keep the database and files)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$WAQTOR_ROOT/tools/setup.sh" >/dev/null
cd "$WAQTOR_ROOT"
N=${N:-1000000}
DB=waqtor_bench
OUT=$(mktemp -d)
SERVER_PID=""
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# As the postgres superuser over the local socket, as tools/setup.sh does.
PSQL=(psql -h "$WAQTOR_DATA/run" -p "$WAQTOR_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q -X)
cleanup() {
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    if [ -z "${KEEP:-}" ]; then
        as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
        rm -rf "$OUT"
    fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }

[ -n "${SKIP_BUILD:-}" ] || { swift build -c release --product waqtor-server >/dev/null && swift build -c release --product waqtor >/dev/null; }
as_pg "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null
as_pg "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB OWNER waqtor_owner" >/dev/null
as_pg "${PSQL[@]}" -d "$DB" -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO waqtor_owner; GRANT USAGE ON SCHEMA public TO waqtor_app; GRANT CONNECT ON DATABASE $DB TO waqtor_app;" >/dev/null
OWNER_URL=$(waqtor_db_url waqtor_owner "$WAQTOR_DB_OWNER_PASSWORD" "$DB")

RPC_PORT=$(free_port)
export WAQTOR_DATABASE_URL=$(waqtor_db_url waqtor_app "$WAQTOR_DB_APP_PASSWORD" "$DB")
export WAQTOR_DATABASE_MIGRATION_URL=$OWNER_URL
export WAQTOR_REDIS_SHARDS=$(waqtor_redis_shards)
export WAQTOR_ADMIN_PORT=0   # each server its own free admin port (they run side by side)
export WAQTOR_RPC_PORT=$RPC_PORT WAQTOR_WEBHOOK_PORT=$(free_port) WAQTOR_GATEWAY_EMBEDDED_PORT=$(free_port)
export WAQTOR_GATEWAY_URL=embedded WAQTOR_LOG_LEVEL=warning WAQTOR_ROLE=api
# A 1M audience's statements run longer than the default 30 s statement timeout (a finding, see
# docs/BENCHMARKS.md): the benchmark lifts it to measure them.
export WAQTOR_DATABASE_STATEMENT_TIMEOUT_MS=${STATEMENT_TIMEOUT_MS:-900000}
export WAQTOR_CONFIG_DIR="$OUT/cli" WAQTOR_SERVER="127.0.0.1:$RPC_PORT"
.build/release/waqtor-server serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$RPC_PORT),1)" 2>/dev/null && break; sleep 0.2; done
W=.build/release/waqtor
peak_reset() { echo 5 > "/proc/$SERVER_PID/clear_refs"; }
peak_mib() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$SERVER_PID/status"; }

echo "bench-password-123" | $W signup --name Bench --email "bench@example.com" --time-zone America/Sao_Paulo --password-stdin >/dev/null
psql "$OWNER_URL" -q -c "UPDATE plans SET max_contacts = 5000000, max_messages_per_day = 5000000 WHERE id = 'business'; UPDATE tenants SET plan_id = 'business';"
LIST=$($W list create Bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["contact_list"]["id"])')
INSTANCE=$($W instance create --name Bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["instance"]["id"])')
psql "$OWNER_URL" -q -c "UPDATE instances SET state = 'open'"   # as if paired: the start needs a connected number

python3 - "$OUT/contacts.csv" "$N" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("phone,name,city\n")
    for i in range(n):
        f.write(f"+5511{960000000 + i},Person {i},City {i % 500}\n")
PY

# 1. Import through the API, then the same file with \copy into a plain table.
peak_reset
t0=$(now)
$W contact import "$OUT/contacts.csv" --list "$LIST" --batch-size 10000 --timeout 600 --json >"$OUT/import.json"
t1=$(now)
import_peak=$(peak_mib)
imported=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["imported"])' "$OUT/import.json")
psql "$OWNER_URL" -q -c "CREATE TABLE bench_copy (phone text, name text, city text)"
t2=$(now)
psql "$OWNER_URL" -q -c "\\copy bench_copy FROM '$OUT/contacts.csv' CSV HEADER"
t3=$(now)
# The same rows into tables shaped like contacts and contact_list_members (their indexes and
# defaults; no foreign keys, triggers or row-level security): what those tables cost by themselves.
TENANT=$(psql "$OWNER_URL" -Atc "SELECT id FROM tenants LIMIT 1")
psql "$OWNER_URL" -q -c "CREATE TABLE bench_contacts (LIKE contacts INCLUDING ALL); CREATE TABLE bench_members (LIKE contact_list_members INCLUDING ALL)"
t10=$(now)
psql "$OWNER_URL" -q -c "INSERT INTO bench_contacts (tenant_id, phone_number, phone_type, phone_region, name, attributes)
    SELECT '$TENANT', phone, 'mobile', 'BR', name, jsonb_build_object('city', city) FROM bench_copy;
    INSERT INTO bench_members (tenant_id, list_id, contact_id) SELECT tenant_id, '$LIST', id FROM bench_contacts"
t11=$(now)

# 2. Start a campaign to all of them, then INSERT ... SELECT of as many rows of the same width.
t8=$(now)
CAMPAIGN=$($W campaign create --name Bench --text "{Hi|Hello|Hey} {{name}}, news from {{city|your city}}!" --list "$LIST" --number "$INSTANCE" --timeout 600 --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["campaign"]["id"])')
t9=$(now)
peak_reset
t4=$(now)
$W campaign start "$CAMPAIGN" --timeout 1800 --json >"$OUT/start.json"
t5=$(now)
start_peak=$(peak_mib)
recipients=$(psql "$OWNER_URL" -Atc "SELECT count(*) FROM campaign_recipients")
# N rows as wide as the campaign's recipients into TABLE.
insert_rows() {
    psql "$OWNER_URL" -q -c "INSERT INTO $1 (tenant_id, campaign_id, contact_id, seq, phone_number, instance_id, state, error, rendered_text)
        SELECT gen_random_uuid(), '$CAMPAIGN', gen_random_uuid(), g, '+5511' || (960000000 + g), '$INSTANCE', 'pending', '', 'Hello Person ' || g || ', news from City ' || (g % 500) || '!'
        FROM generate_series(1, $N) g"
}
psql "$OWNER_URL" -q -c "CREATE TABLE bench_insert (LIKE campaign_recipients INCLUDING DEFAULTS); ALTER TABLE bench_insert ADD PRIMARY KEY (campaign_id, contact_id)"
t6=$(now)
insert_rows bench_insert
t7=$(now)
psql "$OWNER_URL" -q -c "CREATE TABLE bench_recipients (LIKE campaign_recipients INCLUDING ALL)"
t12=$(now)
insert_rows bench_recipients
t13=$(now)

shaped_import_s=$(python3 -c "print(f'{$t3 - $t2 + $t11 - $t10:.2f}')"); shaped_insert_s=$(secs "$t12" "$t13")
create_s=$(secs "$t8" "$t9"); import_s=$(secs "$t0" "$t1"); copy_s=$(secs "$t2" "$t3"); start_s=$(secs "$t4" "$t5"); insert_s=$(secs "$t6" "$t7")
python3 - "$N" "$imported" "$import_s" "$copy_s" "$recipients" "$start_s" "$insert_s" "$import_peak" "$start_peak" "$create_s" "$shaped_import_s" "$shaped_insert_s" <<'PY'
import sys
n, imported, imp, cp, rec, st, ins, ipk, spk, cr, simp, sins = sys.argv[1:]
simp, sins = float(simp), float(sins)
n, imported, rec = int(n), int(imported), int(rec)
imp, cp, st, ins = map(float, (imp, cp, st, ins))
print(f"| step | ours | reference (same run) | ratio | server peak RSS |")
print(f"|---|---|---|---|---|")
print(f"| import {n:,} contacts | {imp:.1f} s ({imported/imp:,.0f} rows/s; {imported:,} imported) | \\copy {cp:.1f} s ({n/cp:,.0f} rows/s) | {(imported/imp)/(n/cp):.2f} of COPY's rate | {ipk} MiB |")
print(f"| start a campaign of {rec:,} recipients | {st:.1f} s | INSERT ... SELECT {ins:.1f} s | {st/ins:.2f}x its time | {spk} MiB |")
print(f"| the tables' own cost: \\copy, then into tables shaped like contacts and list members | | {simp:.1f} s ({n/simp:,.0f} rows/s) | ours {(imported/imp)/(n/simp):.2f} of its rate | |")
print(f"| the table's own cost: INSERT ... SELECT into a table shaped like campaign_recipients | | {sins:.1f} s | ours {st/sins:.2f}x its time | |")
print(f"| create that campaign (template checked against the audience's attributes) | {float(cr):.1f} s | | | |")
PY
