#!/usr/bin/env bash
# Real PostgreSQL 15 logs written by log_statement without (or with few) durations, each
# with pg_stat_statements as ground truth. Run as root from the repository root:
#   bash testdata/statement_only/make.sh            # all cases (about 2 min)
#   bash testdata/statement_only/make.sh b_all_lmds # one case
# Cases (workload: pgbench -M simple, then -M extended, plus short psql sessions whose
# generated SQL fails about one time in four; statements of /work/shared/corpus):
#   a_all_noduration  log_statement=all, log_min_duration_statement=-1, log_duration=off
#   b_all_lmds        log_statement=all, log_min_duration_statement=1ms: every statement is
#                     logged as `statement:`/`execute`, and a slow one then gets a text-less
#                     `duration:` line (PostgreSQL does not repeat text it already logged)
#   c_mod             log_statement=mod, log_min_duration_statement=-1
# Each case: a fresh cluster in $SO_WORK/<case> (default /tmp/pgso), listening on the socket
# there and on 127.0.0.1:$SO_PORT (default 54391); pg_stat_statements reset right before the
# workload and dumped right after (db=postgres, the admin sessions, excluded); the admin
# sessions run with logging off. Output: testdata/statement_only/<case>/{postgresql.log,
# pg_stat_statements.csv,corpus.conf}, then expected.json from expected.py (log + pgss only).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CORPUS="${CORPUS:-/work/shared/corpus}"
WL="$CORPUS/workload"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
WORK="${SO_WORK:-/tmp/pgso}"
PORT="${SO_PORT:-54391}"
SECS="${SO_SECS:-6}"     # seconds per pgbench protocol
SOCK="$WORK/sock"
CASES=("$@"); [ ${#CASES[@]} -gt 0 ] || CASES=(a_all_noduration b_all_lmds c_mod)
[ "$(id -u)" = 0 ] || { echo "run as root (the server runs as postgres through runuser)" >&2; exit 1; }
if ss -ltn | awk '{print $4}' | grep -q ":$PORT\$"; then echo "port $PORT is taken: set SO_PORT" >&2; exit 1; fi

unset PGPASSWORD PGSERVICE PGOPTIONS PGAPPNAME PGSSLMODE PGDATA PGHOSTADDR PGPASSFILE
export PGHOST="$SOCK" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres PGCONNECT_TIMEOUT=10
export LC_ALL=C.UTF-8 TZ=UTC
as_pg() { runuser -u postgres -- "$@"; }
QUIET='-c log_min_duration_statement=-1 -c log_statement=none -c log_duration=off -c log_min_messages=panic -c log_min_error_statement=panic -c log_connections=off -c log_disconnections=off'
admin() { PGOPTIONS="$QUIET" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
as_app() { local u="$1" a="$2" h="$3"; shift 3; PGAPPNAME="$a" PGPASSWORD="${u}_pw" "$PGBIN/psql" -X -q -h "$h" -U "$u" -d bench "$@"; }

PGDATA_NOW=""
BG=()
cleanup() {
    for p in "${BG[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    [ -n "$PGDATA_NOW" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA_NOW" -m fast -w stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

settings() {
    case "$1" in
        a_all_noduration) printf "log_statement = 'all'\nlog_min_duration_statement = -1\nlog_duration = off\n" ;;
        b_all_lmds)       printf "log_statement = 'all'\nlog_min_duration_statement = 1ms\nlog_duration = off\n" ;;
        c_mod)            printf "log_statement = 'mod'\nlog_min_duration_statement = -1\nlog_duration = off\n" ;;
        *) echo "unknown case $1" >&2; exit 2 ;;
    esac
}

side_loop() {   # short psql sessions until the file $1 exists
    local i=0 n chunk
    n=$(ls "$2"/chunk_*.sql | wc -l)
    while [ ! -e "$1" ]; do
        chunk="$(printf '%s/chunk_%04d.sql' "$2" $((i % n)))"
        case $((i % 3)) in
            0) as_app app_rw billing-cron 127.0.0.1 -f "$chunk" ;;
            1) as_app reporter grafana "$SOCK" -f "$chunk" ;;
            2) as_app app_rw django 127.0.0.1 -f "$chunk" ;;
        esac >/dev/null 2>&1 || true
        i=$((i + 1)); sleep 0.7
    done
}

run_case() {
    local c="$1" d="$WORK/$1" dest="$HERE/$1"
    echo "== $c" >&2
    rm -rf "$d"; mkdir -p "$d/data" "$SOCK"; chmod 700 "$d/data"; chown -R postgres "$d" "$SOCK"
    as_pg "$PGBIN/initdb" -D "$d/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --no-locale -E UTF8 --no-instructions >"$d/initdb.out" 2>&1
    { cat <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
pg_stat_statements.track_utility = on
lc_messages = 'C'
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = on
log_directory = 'log'
log_filename = 'postgresql.log'
log_line_prefix = '%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '
log_connections = on
log_disconnections = on
log_checkpoints = on
CONF
      settings "$c"; } >"$d/data/corpus.conf"
    echo "include 'corpus.conf'" >>"$d/data/postgresql.conf"; chown postgres "$d/data/corpus.conf"
    as_pg "$PGBIN/pg_ctl" -D "$d/data" -l "$d/pg_ctl.log" -w start >/dev/null
    PGDATA_NOW="$d/data"
    admin -c "CREATE EXTENSION pg_stat_statements" -c "CREATE ROLE app_rw LOGIN PASSWORD 'app_rw_pw'" \
        -c "CREATE ROLE reporter LOGIN PASSWORD 'reporter_pw'" -c "CREATE DATABASE bench OWNER app_rw"
    PGOPTIONS="$QUIET" "$PGBIN/pgbench" -i -s 1 -q bench >"$d/pgbench_init.out" 2>&1
    admin -d bench <<'SQL'
CREATE TABLE audit_log (id bigserial PRIMARY KEY, ts timestamptz NOT NULL DEFAULT now(), who text, msg text);
CREATE TABLE promo_codes (code text PRIMARY KEY, discount int NOT NULL CHECK (discount BETWEEN 0 AND 90));
INSERT INTO promo_codes VALUES ('WELCOME10', 10), ('SPRING', 15);
ALTER TABLE pgbench_accounts OWNER TO app_rw; ALTER TABLE pgbench_branches OWNER TO app_rw;
ALTER TABLE pgbench_tellers OWNER TO app_rw; ALTER TABLE pgbench_history OWNER TO app_rw;
ALTER TABLE audit_log OWNER TO app_rw; ALTER TABLE promo_codes OWNER TO app_rw;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporter;
VACUUM ANALYZE;
SQL
    python3 "$WL/gen_sql.py" generic --seed 11 --count 40 --out "$d/chunks" >/dev/null
    chmod -R a+rX "$d/chunks"
    admin -c "SELECT pg_stat_statements_reset()" >/dev/null
    rm -f "$d/stop"
    side_loop "$d/stop" "$d/chunks" & BG+=($!)
    for mode in simple extended; do
        PGAPPNAME="pgbench-$mode" PGPASSWORD=app_rw_pw "$PGBIN/pgbench" -h 127.0.0.1 -U app_rw \
            -c 2 -j 1 -T "$SECS" -R 10 -M "$mode" --random-seed=1234 \
            -b tpcb-like@6 -b select-only@3 -f "$WL/a_mixed.sql@1" bench >"$d/pgbench_$mode.out" 2>&1
    done
    touch "$d/stop"; wait "${BG[@]}" || true; BG=()
    rm -rf "$dest"; mkdir -p "$dest"
    admin -c "\\copy (SELECT s.queryid, s.calls, s.total_exec_time, s.mean_exec_time, s.rows, s.query, r.rolname AS username, d.datname AS dbname, s.toplevel FROM pg_stat_statements s LEFT JOIN pg_roles r ON r.oid = s.userid LEFT JOIN pg_database d ON d.oid = s.dbid WHERE d.datname IS DISTINCT FROM 'postgres' ORDER BY s.calls DESC, s.query) TO '$dest/pg_stat_statements.csv' WITH (FORMAT csv, HEADER)"
    as_pg "$PGBIN/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null
    PGDATA_NOW=""
    cp "$d/data/log/postgresql.log" "$dest/postgresql.log"
    cp "$d/data/corpus.conf" "$dest/corpus.conf"
    chmod 644 "$dest"/*
    python3 "$HERE/expected.py" "$dest"
    echo "$c: $(wc -c <"$dest/postgresql.log") bytes" >&2
}

for c in "${CASES[@]}"; do run_case "$c"; done
