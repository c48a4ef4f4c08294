#!/usr/bin/env bash
# make_incidents.sh -- make REAL PostgreSQL 15 incident logs with their ground truth (timeline.json)
# for pgferret's findings tests (testdata/incidents/<name>/).
#
# usage:  make_incidents.sh OUTDIR [INCIDENT ...]      (as root: the server runs as `postgres`)
#
#   wm_reload   a config reload shrinks work_mem from 16MB to 64kB: reports spill to temp files
#               and slow down; a second reload puts it back.  csvlog only, log_min_duration_statement=0,
#               pgbench -M simple.  Distractors long before the onset: an unrelated CREATE TABLE and
#               a manual CHECKPOINT.
#   ddl_lock    an ALTER TABLE queues for its AccessExclusiveLock behind a reporting transaction left
#               idle in transaction; every query on the table queues behind the ALTER until a DBA
#               terminates the idle session.  stderr, prefix '%m [%p] %q%u@%d app=%a ',
#               log_min_duration_statement=100ms, pgbench -M prepared.
#   index_drop  a migration drops the index on items(sku) CONCURRENTLY: every lookup and stock update
#               by sku becomes a full scan; the index is rebuilt CONCURRENTLY.  jsonlog only,
#               log_min_duration_statement=0, pgbench -M prepared.  Distractor: a new query shape
#               (another service starts polling promotions) 20 s before the onset.
#
# Each incident starts a fresh cluster under $PGINC_WORK/<name> that listens only on a unix
# socket in $PGINC_WORK/sock and on 127.0.0.1:$PGINC_PORT, runs a seeded workload (pgbench with
# the scripts in workload/, psql), performs the incident action at a recorded time, recovers,
# and writes OUTDIR/<name>/: the server log, timeline.json (phases and events, UTC ms),
# pg_stat_statements.<phase>_end.csv snapshots, corpus.conf and pgbench.out.  The server is
# stopped at the end, on error and on Ctrl-C.  Timings, pids and interleavings are real and
# differ between runs; workload randomness is seeded.
#
# environment: PGBIN (default /usr/lib/postgresql/15/bin), PGINC_WORK (default /tmp/pgincidents),
#              PGINC_PORT (default 54351), PGINC_SERVER_USER (default postgres), PYTHON (python3).
# The cluster and logging helpers follow ../shared/corpus/make_corpus.sh (the c_incident scenario).

set -Eeuo pipefail
umask 022

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WL="$HERE/workload"
ALL_INCIDENTS=(wm_reload ddl_lock index_drop)

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,31p' "$0"; exit 2
fi
OUT="$1"; shift
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
if [ $# -gt 0 ]; then INCIDENTS=("$@"); else INCIDENTS=("${ALL_INCIDENTS[@]}"); fi
for s in "${INCIDENTS[@]}"; do
    case " ${ALL_INCIDENTS[*]} " in *" $s "*) ;; *) echo "unknown incident: $s" >&2; exit 2;; esac
done

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
WORK="${PGINC_WORK:-/tmp/pgincidents}"
PORT="${PGINC_PORT:-54351}"
SOCK="$WORK/sock"
PY="${PYTHON:-python3}"

for b in initdb pg_ctl postgres psql pgbench; do
    [ -x "$PGBIN/$b" ] || { echo "missing $PGBIN/$b" >&2; exit 1; }
done
"$PGBIN/postgres" --version | grep -q ' 15\.' || { echo "need PostgreSQL 15 in $PGBIN" >&2; exit 1; }

unset PGPASSWORD PGSERVICE PGOPTIONS PGAPPNAME PGSSLMODE PGDATA PGHOSTADDR PGPASSFILE
export PGHOST="$SOCK" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres PGCONNECT_TIMEOUT=10
export LC_ALL=C.UTF-8 TZ=UTC

if [ "$(id -u)" = 0 ]; then
    SERVER_USER="${PGINC_SERVER_USER:-postgres}"
    as_server() { runuser -u "$SERVER_USER" -- "$@"; }
    own() { chown -R "$SERVER_USER" "$@"; }
else
    as_server() { "$@"; }
    own() { :; }
fi

log()     { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
now_iso() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
now_ms()  { date +%s%3N; }

# ---------------------------------------------------------------- process hygiene
BG_PIDS=()
CUR_PGDATA=""
cleanup() {
    local rc=$?
    for p in "${BG_PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ -n "$CUR_PGDATA" ] && [ -f "$CUR_PGDATA/postmaster.pid" ]; then
        log "stopping server in $CUR_PGDATA"
        as_server "$PGBIN/pg_ctl" -D "$CUR_PGDATA" -m fast -w -t 120 stop >/dev/null 2>&1 || true
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_stale_servers() {   # servers left behind by an interrupted earlier run of this script
    local pidf d
    for pidf in "$WORK"/*/data/postmaster.pid; do
        [ -f "$pidf" ] || continue
        d="$(dirname "$pidf")"
        log "stopping server left over from an earlier run: $d"
        as_server "$PGBIN/pg_ctl" -D "$d" -m fast -w -t 120 stop >/dev/null 2>&1 || true
    done
}

# ---------------------------------------------------------------- cluster helpers
QUIET_OPTS='-c log_min_duration_statement=-1 -c log_statement=none -c log_duration=off -c log_min_messages=panic -c log_min_error_statement=panic -c log_disconnections=off -c client_min_messages=warning'

# admin session whose statements do not show up in the log (setup, snapshots)
psql_admin() { PGOPTIONS="$QUIET_OPTS" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# application session: psql_as USER DB APPNAME [psql args...]  (TCP, password = <user>_pw)
psql_as() {
    local u="$1" d="$2" a="$3"; shift 3
    PGAPPNAME="$a" PGPASSWORD="${u}_pw" "$PGBIN/psql" -X -q -h 127.0.0.1 -U "$u" -d "$d" "$@"
}

base_conf() {
    cat <<EOF
# ---- incidents: common settings ----
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
max_connections = 40
shared_buffers = 128MB
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 5000
pg_stat_statements.track = top
pg_stat_statements.track_utility = on
lc_messages = 'C'
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = on
log_directory = 'log'
log_filename = 'postgresql-%Y-%m-%d_%H%M%S.log'
log_rotation_age = 0
log_rotation_size = 0
log_checkpoints = on
log_connections = on
log_disconnections = on
log_lock_waits = on
log_temp_files = 0
log_autovacuum_min_duration = 0
autovacuum_naptime = 10s
checkpoint_timeout = 60s
max_wal_size = 256MB
# ---- incidents: this incident ----
EOF
}

begin_incident() {   # begin_incident NAME  (incident settings on stdin)
    NAME="$1"
    log "=== incident $NAME"
    DEST="$OUT/$NAME"; SDIR="$WORK/$NAME"
    rm -rf "$DEST" "$SDIR"; mkdir -p "$DEST" "$SDIR/data" "$SOCK"
    chmod 700 "$SDIR/data"
    own "$SDIR/data" "$SOCK" "$WORK"
    as_server "$PGBIN/initdb" -D "$SDIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --no-locale -E UTF8 --no-instructions >"$SDIR/initdb.out" 2>&1
    { base_conf; cat; } >"$SDIR/data/corpus.conf"
    echo "include 'corpus.conf'" >>"$SDIR/data/postgresql.conf"
    own "$SDIR/data"
    as_server "$PGBIN/pg_ctl" -D "$SDIR/data" -l "$SDIR/pg_ctl.log" -w -t 120 start >/dev/null
    CUR_PGDATA="$SDIR/data"
    psql_admin -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
    EV="$SDIR/events.tsv"; SNAP="$SDIR/snapshots.jsonl"
    : >"$EV"; : >"$SNAP"
}

# event NAME [DETAIL [RELATION [PARAMETER VALUE]]]: what was done when (UTC ms, taken right
# before the action starts unless the name says it is done)
event() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$(now_iso)" "$(now_ms)" "${2:-}" "${3:-}" "${4:-}" "${5:-}" >>"$EV"
}

PGSS_SQL="SELECT s.queryid, s.calls, s.total_exec_time, s.mean_exec_time, s.rows, s.query, r.rolname AS username, d.datname AS dbname, s.toplevel FROM pg_stat_statements s LEFT JOIN pg_roles r ON r.oid = s.userid LEFT JOIN pg_database d ON d.oid = s.dbid WHERE d.datname IS DISTINCT FROM 'postgres' ORDER BY s.calls DESC, s.total_exec_time DESC"

snapshot() {   # snapshot LABEL DB: cumulative counters + pg_stat_statements at a phase end
    psql_admin -At -c "SELECT json_build_object('label', '$1', 'at', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'deadlocks', d.deadlocks, 'temp_files', d.temp_files, 'temp_bytes', d.temp_bytes, 'xact_commit', d.xact_commit, 'xact_rollback', d.xact_rollback, 'sessions', d.sessions, 'sessions_killed', d.sessions_killed, 'checkpoints_timed', b.checkpoints_timed, 'checkpoints_req', b.checkpoints_req) FROM pg_stat_database d, pg_stat_bgwriter b WHERE d.datname = '$2'" >>"$SNAP"
    psql_admin -c "\\copy ($PGSS_SQL) TO '$DEST/pg_stat_statements.$1.csv' WITH (FORMAT csv, HEADER)"
}

reset_stats() {
    psql_admin -d "$1" -c "SELECT pg_stat_reset()" >/dev/null
    psql_admin -c "SELECT pg_stat_reset_shared('bgwriter'), pg_stat_statements_reset()" >/dev/null
}

sleep_until() {   # sleep_until EPOCH_SECONDS
    local now; now=$(date +%s)
    [ "$now" -lt "$1" ] && sleep $(( $1 - now ))
    return 0
}

# stop the server, copy its log and write timeline.json
end_incident() {   # end_incident STORY CONCLUSION CAUSE_JSON
    as_server "$PGBIN/pg_ctl" -D "$SDIR/data" -m fast -w -t 120 stop >/dev/null
    CUR_PGDATA=""
    local f n=0
    for f in "$SDIR"/data/log/*; do
        [ -s "$f" ] || continue
        case "$f" in
            *.csv) cp "$f" "$DEST/postgresql.csv"; n=$((n + 1)) ;;
            *.json) cp "$f" "$DEST/postgresql.json"; n=$((n + 1)) ;;
            *.log) grep -q "^log_destination = 'stderr'" "$SDIR/data/corpus.conf" && { cp "$f" "$DEST/postgresql.log"; n=$((n + 1)); } ;;
        esac
    done
    [ "$n" = 1 ] || { echo "expected one log file in $SDIR/data/log, copied $n" >&2; exit 1; }
    cp "$SDIR/data/corpus.conf" "$DEST/corpus.conf"
    cp "$SDIR"/pgbench.out "$DEST"/ 2>/dev/null || true
    NAME="$NAME" EV="$EV" SNAP="$SNAP" DEST="$DEST" STORY="$1" CONCLUSION="$2" CAUSE="$3" \
        "$PY" "$HERE/timeline.py"
    for f in "$DEST"/postgresql.*; do
        [ "$(stat -c %s "$f")" -gt 3000000 ] && gzip -9 "$f"
    done
    chmod -R a+rX "$DEST"
    log "=== incident $NAME done: $(du -sh "$DEST" | cut -f1)"
}

wait_pids() { local p; for p in "$@"; do wait "$p" || true; done; }

# ---------------------------------------------------------------- wm_reload
incident_wm_reload() {
    begin_incident wm_reload <<'EOF'
log_destination = 'csvlog'
log_min_duration_statement = 0
work_mem = 16MB
EOF
    local T_NORMAL=50 T_INCIDENT=55 T_RECOVERY=40 RATE=40 T_TOTAL t0 pids=()
    T_TOTAL=$((T_NORMAL + T_INCIDENT + T_RECOVERY))
    psql_admin <<'SQL'
CREATE ROLE shop_app  LOGIN PASSWORD 'shop_app_pw';
CREATE ROLE migrator  LOGIN PASSWORD 'migrator_pw';
CREATE DATABASE shop OWNER migrator;
SQL
    psql_admin -d shop <<'SQL'
CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    customer_id int NOT NULL,
    status      text NOT NULL,
    amount      numeric(10,2) NOT NULL,
    created_at  timestamptz NOT NULL
);
INSERT INTO orders (customer_id, status, amount, created_at)
SELECT 1 + (g * 7919) % 20000,
       (ARRAY['pending','paid','packed','shipped','delivered','delivered','delivered','cancelled'])[1 + g % 8],
       ((g * 37) % 50000) / 100.0 + 1,
       now() - (200000 - g) * interval '13 seconds'
  FROM generate_series(1, 200000) g;
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX orders_created_at_idx ON orders (created_at);
CREATE TABLE flagged_customers (customer_id int PRIMARY KEY, reason text NOT NULL);
INSERT INTO flagged_customers SELECT g, 'chargeback' FROM generate_series(1, 20000) g WHERE g % 5 < 3;
ALTER TABLE orders OWNER TO migrator;
ALTER TABLE flagged_customers OWNER TO migrator;
GRANT SELECT, INSERT ON orders TO shop_app;
GRANT SELECT ON flagged_customers TO shop_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO shop_app;
GRANT CREATE ON SCHEMA public TO migrator;
VACUUM ANALYZE;
CHECKPOINT;
SQL
    reset_stats shop
    WSTART="$(now_iso)"; event workload_start "pgbench shop-api -c 4 -R $RATE -M simple (lookups, checkouts, three reports)"
    t0=$(date +%s)
    ( cd "$SDIR" && PGAPPNAME=shop-api PGPASSWORD=shop_app_pw "$PGBIN/pgbench" -h 127.0.0.1 -U shop_app \
        -n -M simple -c 4 -j 2 -T "$T_TOTAL" -R "$RATE" -P 5 --random-seed=5151 \
        -f "$WL/wm_lookup.sql@72" -f "$WL/wm_checkout.sql@20" \
        -f "$WL/wm_top_customers.sql@3" -f "$WL/wm_ranking.sql@3" -f "$WL/wm_unflagged.sql@2" \
        shop >"$SDIR/pgbench.out" 2>&1 ) &
    pids+=($!); BG_PIDS+=($!)

    # distractors, long before the onset: an unrelated table and a manual checkpoint
    sleep_until $(( t0 + T_NORMAL - 30 ))
    event distractor_create_table "CREATE TABLE newsletter_signups" newsletter_signups
    psql_as migrator shop flyway -c "CREATE TABLE newsletter_signups (email text PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())" >/dev/null
    sleep_until $(( t0 + T_NORMAL - 15 ))
    event distractor_checkpoint "CHECKPOINT (manual)"
    PGAPPNAME=psql "$PGBIN/psql" -X -q -d shop -c "CHECKPOINT" >/dev/null

    sleep_until $(( t0 + T_NORMAL ))
    snapshot normal_end shop
    # ---- the incident: someone "tunes" work_mem down in postgresql.conf and reloads ----
    event incident_start "config change: work_mem 16MB -> 64kB, pg_ctl reload"
    sed -i "s/^work_mem = .*/work_mem = 64kB/" "$SDIR/data/corpus.conf"
    event config_reload "pg_ctl reload (work_mem = 64kB)" "" work_mem 64kB
    as_server "$PGBIN/pg_ctl" -D "$SDIR/data" reload >/dev/null

    sleep_until $(( t0 + T_NORMAL + T_INCIDENT ))
    snapshot incident_end shop
    # ---- recovery: put it back ----
    event mitigation_start "config change: work_mem back to 16MB, pg_ctl reload"
    sed -i "s/^work_mem = .*/work_mem = 16MB/" "$SDIR/data/corpus.conf"
    event config_reload_back "pg_ctl reload (work_mem = 16MB)" "" work_mem 16MB
    as_server "$PGBIN/pg_ctl" -D "$SDIR/data" reload >/dev/null

    wait_pids "${pids[@]}"; BG_PIDS=()
    event workload_end
    snapshot recovery_end shop
    end_incident \
        "A shop API (pgbench, 4 clients, 40 tps, simple protocol) runs lookups by customer, checkouts and three reports that fit in work_mem = 16MB: top customers (hash aggregate), ranking (sort with OFFSET) and revenue of unflagged customers (NOT IN (SELECT customer_id FROM flagged_customers), 12,000 rows: a hashed subplan only while its hash table fits in work_mem). 30 s and 15 s before the onset an unrelated CREATE TABLE newsletter_signups and a manual CHECKPOINT happen (distractors). At incident_start work_mem is lowered to 64kB in postgresql.conf and the server reloaded: the top-customers and ranking reports spill to temporary files and slow down somewhat, and the NOT IN report loses its hashed subplan (a plain subplan rescans the materialized 12,000 rows for every order row: hundreds of times slower); the lookups stay as they were. At mitigation_start work_mem goes back to 16MB with a second reload." \
        "The cause is the configuration reload at incident_start that changed work_mem to 64kB (not the CREATE TABLE or the CHECKPOINT before it): the NOT IN report on orders/flagged_customers regressed by two orders of magnitude, the top-customers and ranking reports regressed less and write temporary files; the lookups and inserts did not regress. No lock waits." \
        '{"kind": "config_reload", "event": "config_reload", "relation": null, "parameters": [{"name": "work_mem", "value": "64kB"}], "regressed_relation": "orders", "lock_relation": null, "distractors": ["distractor_create_table", "distractor_checkpoint"]}'
}

# ---------------------------------------------------------------- ddl_lock
incident_ddl_lock() {
    begin_incident ddl_lock <<'EOF'
log_destination = 'stderr'
log_line_prefix = '%m [%p] %q%u@%d app=%a '
log_min_duration_statement = 100ms
deadlock_timeout = 200ms
EOF
    local T_NORMAL=40 T_INCIDENT=30 T_RECOVERY=35 RATE=60 T_TOTAL t0 pids=() end blocker alter
    T_TOTAL=$((T_NORMAL + T_INCIDENT + T_RECOVERY))
    psql_admin <<'SQL'
CREATE ROLE payments_app LOGIN PASSWORD 'payments_app_pw';
CREATE ROLE reporting    LOGIN PASSWORD 'reporting_pw';
CREATE ROLE migrator     LOGIN PASSWORD 'migrator_pw';
CREATE DATABASE bank OWNER migrator;
SQL
    psql_admin -d bank <<'SQL'
CREATE TABLE accounts (
    id         int PRIMARY KEY,
    owner      text NOT NULL,
    branch     int NOT NULL,
    balance    numeric(12,2) NOT NULL,
    updated_at timestamptz NOT NULL
);
INSERT INTO accounts
SELECT g, 'owner ' || (g * 7) % 30011, g % 40, ((g * 7919) % 1000000) / 100.0, now() - g * interval '1 minute'
  FROM generate_series(1, 100000) g;
CREATE TABLE transfers (
    id         bigserial PRIMARY KEY,
    account_id int NOT NULL,
    amount     numeric(12,2) NOT NULL,
    created_at timestamptz NOT NULL
);
ALTER TABLE accounts OWNER TO migrator;
ALTER TABLE transfers OWNER TO migrator;
GRANT SELECT, INSERT, UPDATE ON accounts, transfers TO payments_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO payments_app;
GRANT SELECT ON accounts, transfers TO reporting;
VACUUM ANALYZE;
CHECKPOINT;
SQL
    local REPORT="SELECT branch, count(*) AS accounts, sum(balance) AS total, percentile_cont(0.5) WITHIN GROUP (ORDER BY balance) AS median, count(DISTINCT owner) AS owners FROM accounts GROUP BY branch ORDER BY total DESC;"
    reset_stats bank
    WSTART="$(now_iso)"; event workload_start "pgbench payments-api -c 8 -R $RATE -M prepared + metabase report every 8 s + backoffice lookup every 2 s"
    t0=$(date +%s)
    end=$(( t0 + T_TOTAL ))
    ( cd "$SDIR" && PGAPPNAME=payments-api PGPASSWORD=payments_app_pw "$PGBIN/pgbench" -h 127.0.0.1 -U payments_app \
        -n -M prepared -c 8 -j 2 -T "$T_TOTAL" -R "$RATE" -L 2000 -P 5 --random-seed=6262 \
        -f "$WL/dl_balance.sql@50" -f "$WL/dl_credit.sql@35" -f "$WL/dl_feed.sql@15" \
        bank >"$SDIR/pgbench.out" 2>&1 ) &
    pids+=($!); BG_PIDS+=($!)
    # the reporting dashboard: the same report every 8 s, each in its own short transaction
    ( while [ "$(date +%s)" -lt "$((end - 5))" ]; do
        psql_as reporting bank metabase -c "$REPORT" >/dev/null 2>&1 || true
        sleep 8
      done ) &
    pids+=($!); BG_PIDS+=($!)

    # the back office: a balance lookup on a new connection every 2 s (these pile up during the incident)
    ( i=0; while [ "$(date +%s)" -lt "$((end - 3))" ]; do
        psql_as payments_app bank backoffice -c "SELECT owner, balance FROM accounts WHERE id = $(( (i * 7919) % 100000 + 1 ))" >/dev/null 2>&1 &
        i=$((i + 1)); sleep 2
      done; wait ) &
    pids+=($!); BG_PIDS+=($!)

    # 6 s before the onset an analyst runs the report inside a transaction and leaves it open
    sleep_until $(( t0 + T_NORMAL - 6 ))
    event blocker_begin "metabase-adhoc: BEGIN; report on accounts; then idle in transaction" accounts
    ( { echo "BEGIN;"; echo "$REPORT"; sleep $(( T_INCIDENT + 20 )); echo "COMMIT;"; } \
        | psql_as reporting bank metabase-adhoc >/dev/null 2>&1 || true ) &
    blocker=$!; BG_PIDS+=($!)

    sleep_until $(( t0 + T_NORMAL ))
    snapshot normal_end bank
    # ---- the incident: a migration without lock_timeout queues behind the idle transaction ----
    event incident_start "deploy: migration 0057 ALTER TABLE accounts ADD COLUMN risk_score" accounts
    event alter_issued "ALTER TABLE accounts ADD COLUMN risk_score int" accounts
    ( psql_as migrator bank flyway -c "ALTER TABLE accounts ADD COLUMN risk_score int" >/dev/null 2>"$SDIR/alter.err" || true
      printf '%s\t%s\t%s\t%s\t%s\t\t\n' alter_done "$(now_iso)" "$(now_ms)" "ALTER TABLE accounts ADD COLUMN risk_score int (returned)" accounts >>"$EV" ) &
    alter=$!; BG_PIDS+=($!)

    sleep_until $(( t0 + T_NORMAL + T_INCIDENT ))
    snapshot incident_end bank
    # ---- recovery: the DBA terminates the idle-in-transaction session ----
    event mitigation_start "DBA: pg_terminate_backend of the idle in transaction metabase-adhoc session" accounts
    psql_admin -d bank -At -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'metabase-adhoc' AND state LIKE 'idle in transaction%'" >"$SDIR/terminate.out"
    grep -q t "$SDIR/terminate.out" || { echo "no idle in transaction session to terminate" >&2; exit 1; }
    wait_pids "$alter" "$blocker" "${pids[@]}"; BG_PIDS=()
    event workload_end
    snapshot recovery_end bank
    end_incident \
        "A payments API (pgbench, 8 clients, 60 tps, prepared protocol) reads and updates accounts and reads transfers; a back office opens a new connection every 2 s for a balance lookup; a dashboard (metabase) runs a 100+ ms report on accounts every 8 s in its own transaction. 6 s before the onset an analyst (metabase-adhoc) runs the same report inside BEGIN and leaves the transaction idle, holding AccessShareLock on accounts. At incident_start a migration (flyway, no lock_timeout) runs ALTER TABLE accounts ADD COLUMN risk_score int: its AccessExclusiveLock request waits behind the idle transaction, and every later statement on accounts queues behind the ALTER (lock waits after deadlock_timeout = 200ms, durations of seconds). Queries on transfers alone keep running. At mitigation_start a DBA terminates the idle session; the ALTER gets its lock, finishes at once and the queue drains." \
        "The cause is the DDL ALTER TABLE accounts ADD COLUMN risk_score (issued at incident_start, logged with its duration when it finally ran) queued for AccessExclusiveLock behind the idle-in-transaction metabase-adhoc session; the lock hotspot is relation accounts; the statements on accounts (balance lookup, balance update) regressed from under 100 ms (not logged) to seconds. With log_min_duration_statement = 100ms the rise in logged statements is statements crossing the threshold, not more traffic." \
        '{"kind": "ddl", "event": "alter_issued", "relation": "accounts", "statement": "ALTER TABLE accounts ADD COLUMN risk_score int", "parameters": [], "lock_relation": "accounts", "lock_mode": "AccessExclusiveLock", "blocker_event": "blocker_begin"}'
}

# ---------------------------------------------------------------- index_drop
incident_index_drop() {
    begin_incident index_drop <<'EOF'
log_destination = 'jsonlog'
log_min_duration_statement = 0
EOF
    local T_NORMAL=35 T_INCIDENT=40 T_RECOVERY=30 RATE=25 T_TOTAL t0 end pids=()
    T_TOTAL=$((T_NORMAL + T_INCIDENT + T_RECOVERY))
    psql_admin <<'SQL'
CREATE ROLE store_app LOGIN PASSWORD 'store_app_pw';
CREATE ROLE promo_app LOGIN PASSWORD 'promo_app_pw';
CREATE ROLE migrator  LOGIN PASSWORD 'migrator_pw';
CREATE DATABASE store OWNER migrator;
SQL
    psql_admin -d store <<'SQL'
CREATE TABLE items (
    id          int PRIMARY KEY,
    sku         text NOT NULL,
    name        text NOT NULL,
    category_id int NOT NULL,
    price       numeric(10,2) NOT NULL,
    stock       int NOT NULL,
    updated_at  timestamptz NOT NULL
);
INSERT INTO items
SELECT g, 'SKU-' || lpad(g::text, 7, '0'), 'item ' || g, 1 + (g * 31) % 500,
       ((g::bigint * 7919) % 100000) / 100.0 + 1, 1000000, now()
  FROM generate_series(1, 300000) g;
CREATE INDEX items_sku_idx ON items (sku);
CREATE INDEX items_category_id_idx ON items (category_id);
CREATE TABLE promotions (code text PRIMARY KEY, percent int NOT NULL, active boolean NOT NULL);
INSERT INTO promotions SELECT 'PROMO' || g, 5 + g % 30, g % 3 > 0 FROM generate_series(1, 200) g;
ALTER TABLE items OWNER TO migrator;
ALTER TABLE promotions OWNER TO migrator;
GRANT SELECT, UPDATE ON items TO store_app;
GRANT SELECT ON promotions TO promo_app;
VACUUM ANALYZE;
CHECKPOINT;
SQL
    reset_stats store
    WSTART="$(now_iso)"; event workload_start "pgbench store-api -c 4 -R $RATE -M prepared (lookups and stock updates by sku, category lists)"
    t0=$(date +%s)
    end=$(( t0 + T_TOTAL ))
    ( cd "$SDIR" && PGAPPNAME=store-api PGPASSWORD=store_app_pw "$PGBIN/pgbench" -h 127.0.0.1 -U store_app \
        -n -M prepared -c 4 -j 2 -T "$T_TOTAL" -R "$RATE" -P 5 --random-seed=7373 \
        -f "$WL/ix_lookup.sql@60" -f "$WL/ix_reserve.sql@25" -f "$WL/ix_category.sql@15" \
        store >"$SDIR/pgbench.out" 2>&1 ) &
    pids+=($!); BG_PIDS+=($!)

    # distractor: 20 s before the onset a new service starts polling promotions (a new query shape)
    sleep_until $(( t0 + T_NORMAL - 20 ))
    event distractor_new_query "promo-service starts: SELECT code, percent FROM promotions WHERE code = ... AND active, every second" promotions
    ( i=0; while [ "$(date +%s)" -lt "$end" ]; do
        psql_as promo_app store promo-service -c "SELECT code, percent FROM promotions WHERE code = 'PROMO$(( i % 200 + 1 ))' AND active" >/dev/null 2>&1 || true
        i=$((i + 1)); sleep 1
      done ) &
    pids+=($!); BG_PIDS+=($!)

    sleep_until $(( t0 + T_NORMAL ))
    snapshot normal_end store
    # ---- the incident: an "unused" index dropped by a cleanup migration ----
    event incident_start "deploy: migration 0071 drops the 'unused' index items_sku_idx" items
    event index_dropped "DROP INDEX CONCURRENTLY items_sku_idx" items
    psql_as migrator store flyway -c "DROP INDEX CONCURRENTLY items_sku_idx" >/dev/null

    sleep_until $(( t0 + T_NORMAL + T_INCIDENT ))
    snapshot incident_end store
    # ---- recovery: the index is rebuilt ----
    event mitigation_start "hotfix: CREATE INDEX CONCURRENTLY items_sku_idx ON items (sku)" items
    psql_as migrator store flyway -c "CREATE INDEX CONCURRENTLY items_sku_idx ON items (sku)" >/dev/null
    event index_rebuilt "CREATE INDEX CONCURRENTLY items_sku_idx returned" items

    wait_pids "${pids[@]}"; BG_PIDS=()
    event workload_end
    snapshot recovery_end store
    end_incident \
        "A store API (pgbench, 4 clients, 25 tps, prepared protocol) looks items up by sku, reserves stock by sku and lists categories on items (300k rows, indexes on sku and category_id). 20 s before the onset a new service (promo-service) starts polling promotions once a second: a new query shape that changes nothing (distractor). At incident_start a cleanup migration runs DROP INDEX CONCURRENTLY items_sku_idx: every lookup and stock update by sku becomes a sequential scan of items; category lists keep their index. At mitigation_start the index is rebuilt with CREATE INDEX CONCURRENTLY and the scans stop as soon as it is valid." \
        "The cause is the DDL DROP INDEX CONCURRENTLY items_sku_idx at incident_start (an index of items; the log names the table only in the CREATE INDEX of the recovery and through the queries that slowed down), not the new promotions query before it: the lookups and stock updates by sku on items regressed by two orders of magnitude, the category lists did not. Every statement is logged (threshold 0)." \
        '{"kind": "ddl", "event": "index_dropped", "relation": "items", "statement": "DROP INDEX CONCURRENTLY items_sku_idx", "parameters": [], "lock_relation": null, "distractors": ["distractor_new_query"]}'
}

# ---------------------------------------------------------------- main
mkdir -p "$WORK"
stop_stale_servers
for s in "${INCIDENTS[@]}"; do
    START=$(date +%s)
    "incident_$s"
    log "$s took $(( $(date +%s) - START ))s"
done
