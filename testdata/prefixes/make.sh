#!/usr/bin/env bash
# make.sh -- real PostgreSQL 15 logs under many log_line_prefix values, each with its
# csvlog twin (the ground truth: user, database, application, pid, query id of every
# line without any prefix) and expected.json computed from that twin by expected.py.
# Modelled on ../shared/corpus/make_corpus.sh (p_prefix), but one cluster for all prefixes:
# initdb once, then for each prefix write it into prefix.conf, start, run the workload, stop.
#
# usage (as root, or as a user that may run initdb):
#   testdata/prefixes/make.sh [NAME ...]      # default: every prefix below + reload_change
# environment: PGBIN (default /usr/lib/postgresql/15/bin), PGPREFIX_WORK (default
#   /tmp/pgferret-prefixes), PGPREFIX_PORT (default 54341), PGPREFIX_SECONDS (pgbench run, default 4)
#
# Output per prefix: testdata/prefixes/<name>/{postgresql.log, postgresql.csv.gz, expected.json}.
set -Eeuo pipefail
umask 022
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
WORK="${PGPREFIX_WORK:-/tmp/pgferret-prefixes}"
PORT="${PGPREFIX_PORT:-54341}"
SECS="${PGPREFIX_SECONDS:-4}"
DATA="$WORK/data"
SOCK="$WORK/sock"

# name|log_line_prefix (no single quotes; everything after the first | is the prefix, blanks included)
PREFIXES=(
  "pgbadger|%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "
  "debian|%m [%p] %q%u@%d "
  "rds|%t:%r:%u@%d:[%p]:"
  "cloudsql|%m [%p]: [%l-1] db=%d,user=%u "
  "azure|%t-%c-"
  "debian_app_qid|%m [%p] %q%u@%d app=%a qid=%Q "
  "qid_first|[queryid=%Q] %m [%p] %u@%d "
  "pipes|%m|%p|%u|%d|%a|%h|"
  "brackets|[%m] [%p] [%u] [%d] [%a] "
  "epoch|%n [%p] "
  "session_line|%m [%p] %c %l "
  "backend_type|%m [%b] [%p] "
  "sqlstate|%m %p %e "
  "xid_vxid|%m [%p] xid=%x vxid=%v %q%u@%d "
  "key_value|time=%m pid=%p usr=%u db=%d app=%a client=%r "
  "q_brackets|%m [%p]%q [%u@%d] "
  "free_text|%t %h %u %d [%p] "
  "app_colon|%m [%p] %a: "
  "no_space|%m [%p]%u@%d:"
  "debian_app|%m [%p] %q%u@%d/%a "
  "session_start|%s %c [%p] "
  "command_tag|%m [%p] [%l] %i "
  "leader_pid|%m %P %p "
  "angle|<%m> pid=%p "
  "cloudsql_q|%m [%p]: [%l-1] %quser=%u,db=%d "
  "qid_only|%m [%p] qid=%Q "
  "pgbadger_short|%t [%p]: [%l-1] "
  "braces|%m {%p} %u %d %a "
  "padded|%m [%5p] %-12a "
  "pg_docs_sample|%m [%p] %q%u@%d %a %r "
  "pg_default|%m [%p] "
  "heroku|sql_error_code = %e time_ms = \"%m\" pid=\"%p\" proc_start_time=\"%s\" session_id=\"%c\" vtid=\"%v\" tid=\"%x\" log_line=\"%l\" %q database=\"%d\" connection_source=\"%r\" user=\"%u\" application_name=\"%a\" "
  "colon_session|%t:%r:%u@%d:%c:%l:%a:"
  "session_sqlstate|%m [%p]: [%c-%l] %u@%d,app=%a [%e] "
  "stackgres|%t (%n) [%p-%l] %q{%a} %u@%d:%r "
  "suse|%m %d %u [%p]"
  "pganalyze|%m [%p] %q[user=%u,db=%d,app=%a] "
  "pgaudit|%m %u %d: "
)
# reload_change: the same file under three prefixes, changed by ALTER SYSTEM + pg_reload_conf()
RELOAD_PREFIXES=("%m [%p] %q%u@%d " "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h " "%m|%p|%u|%d|%a|")

unset PGPASSWORD PGSERVICE PGOPTIONS PGAPPNAME PGSSLMODE PGDATA PGHOSTADDR PGPASSFILE
export PGHOST="$SOCK" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres PGCONNECT_TIMEOUT=10
export LC_ALL=C.UTF-8 TZ=UTC
for b in initdb pg_ctl postgres psql pgbench; do [ -x "$PGBIN/$b" ] || { echo "missing $PGBIN/$b" >&2; exit 1; }; done

if [ "$(id -u)" = 0 ]; then as_server() { runuser -u postgres -- "$@"; }; else as_server() { "$@"; }; fi
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
stop() { [ -f "$DATA/postmaster.pid" ] && as_server "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM

QUIET='-c log_min_duration_statement=-1 -c log_min_messages=panic -c log_min_error_statement=panic -c log_disconnections=off -c client_min_messages=warning'
admin() { PGOPTIONS="$QUIET" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
# as USER DB APP HOST [psql args]: a client session; password = <user>_pw
as() { local u="$1" d="$2" a="$3" h="$4"; shift 4
       PGAPPNAME="$a" PGPASSWORD="${u}_pw" "$PGBIN/psql" -X -q -h "$h" -U "$u" -d "$d" "$@" >/dev/null 2>&1 || true; }

init_cluster() {
    stop; rm -rf "$WORK"; mkdir -p "$DATA" "$SOCK"; chmod 700 "$DATA"
    [ "$(id -u)" = 0 ] && chown -R postgres "$WORK"
    as_server "$PGBIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --no-locale -E UTF8 --no-instructions >"$WORK/initdb.out" 2>&1
    as_server cp "$DATA/postgresql.auto.conf" "$WORK/auto.conf.orig"
    as_server tee -a "$DATA/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track_utility = on
compute_query_id = on
lc_messages = 'C'
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = on
log_destination = 'stderr,csvlog'
log_directory = 'log'
log_rotation_age = 0
log_rotation_size = 0
log_min_duration_statement = 0
log_checkpoints = on
log_connections = on
log_disconnections = on
log_lock_waits = on
log_autovacuum_min_duration = 0
autovacuum_naptime = 2s
include 'prefix.conf'
CONF
    set_prefix setup "%m [%p] "
    start
    admin <<'SQL'
CREATE ROLE app_rw LOGIN PASSWORD 'app_rw_pw';
CREATE ROLE analyst LOGIN PASSWORD 'analyst_pw';
CREATE ROLE billing LOGIN PASSWORD 'billing_pw';
CREATE ROLE reporter LOGIN PASSWORD 'reporter_pw';
CREATE DATABASE shop OWNER app_rw;
CREATE DATABASE bench;
CREATE EXTENSION pg_stat_statements;
SQL
    PGPASSWORD=app_rw_pw "$PGBIN/pgbench" -h 127.0.0.1 -U app_rw -i -s 1 -q shop >"$WORK/pgbench_init.out" 2>&1
    admin -d shop -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst" -c "VACUUM ANALYZE"
    admin -d bench <<'SQL'
CREATE TABLE invoices (id int PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL, paid bool DEFAULT false);
INSERT INTO invoices SELECT g, 'cust ' || (g % 40), g % 300, g % 3 = 0 FROM generate_series(1, 2000) g;
ALTER TABLE invoices OWNER TO billing;
GRANT SELECT ON invoices TO reporter;
VACUUM ANALYZE;
SQL
    stop
}

set_prefix() {   # set_prefix NAME PREFIX: the next start logs to log/NAME.{log,csv}
    printf "log_line_prefix = '%s'\nlog_filename = '%s.log'\n" "$2" "$1" | as_server tee "$DATA/prefix.conf" >/dev/null
    as_server cp "$WORK/auto.conf.orig" "$DATA/postgresql.auto.conf"
}
start() { as_server "$PGBIN/pg_ctl" -D "$DATA" -l "$WORK/pg_ctl.log" -w -t 60 start >/dev/null; }

# psql sessions of several users, databases and applications (awkward names included), a few
# errors, and one client (libpq through ctypes) whose application_name is empty from the start.
sessions() {   # sessions SEED
    local s="$1" k
    for k in 1 2; do
        as analyst shop "pgAdmin 4 - DB:shop" 127.0.0.1 <<SQL
SELECT count(*) FROM pgbench_accounts WHERE abalance > $((s + k));
SELECT bid, bbalance FROM pgbench_branches ORDER BY bid;
SELECT aid, abalance FROM pgbench_accounts WHERE aid = $((s * 7 + k));
SELECT * FROM no_such_table;
SELECT now() AS ts, current_user;
SQL
        as billing bench "[worker] billing" "$SOCK" <<SQL
BEGIN;
UPDATE invoices SET paid = true WHERE id = $((s * 13 + k));
INSERT INTO invoices VALUES ($((3000 + s * 10 + k)), 'cust $k', $((s + 10)));
COMMIT;
INSERT INTO invoices VALUES (1, 'dup', 1);
SELECT customer, sum(amount) FROM invoices GROUP BY customer ORDER BY 2 DESC LIMIT 3;
SQL
        as app_rw shop orders-api 127.0.0.1 <<SQL
SELECT abalance FROM pgbench_accounts WHERE aid = $((s + k * 11));
UPDATE pgbench_tellers SET tbalance = tbalance + 1 WHERE tid = $k;
SELECT 1 / 0;
SQL
        python3 "$HERE/pq_empty_app.py" "host=127.0.0.1 port=$PORT dbname=bench user=reporter password=reporter_pw" \
            "SELECT count(*) FROM invoices WHERE paid" \
            "SELECT id, amount FROM invoices WHERE id = $((s + k))" \
            "SELECT max(amount) FROM invoices" >/dev/null 2>&1 || true
        as postgres postgres "" "$SOCK" <<SQL
SELECT datname FROM pg_database ORDER BY 1;
SELECT count(*) FROM pg_stat_activity;
SQL
        sleep 0.3
    done
    as postgres shop psql "$SOCK" -c "CHECKPOINT"
}

pgbench_run() {   # pgbench_run SEED
    ( cd "$WORK" && PGAPPNAME=orders-api PGPASSWORD=app_rw_pw "$PGBIN/pgbench" -h 127.0.0.1 -U app_rw -n \
        -M extended -c 2 -j 1 -T "$SECS" -R 4 --random-seed="$1" shop >"$WORK/pgbench.out" 2>&1 ) || true
}

workload() {   # workload SEED
    pgbench_run "$1" & local pb=$!
    sessions "$1"
    wait "$pb" || true
}

collect() {   # collect NAME PREFIX...: copy log/NAME.{log,csv} to testdata and write expected.json
    local name="$1"; shift
    local dest="$HERE/$name" args=() p
    rm -rf "$dest"; mkdir -p "$dest"
    cp "$DATA/log/$name.log" "$dest/postgresql.log"
    gzip -9 -n -c "$DATA/log/$name.csv" >"$dest/postgresql.csv.gz"
    chmod 644 "$dest"/*
    for p in "$@"; do args+=(--prefix "$p"); done
    python3 "$HERE/expected.py" "$dest" "${args[@]}"
    log "$name: $(du -k "$dest/postgresql.log" | cut -f1) KB log, $(du -k "$dest/postgresql.csv.gz" | cut -f1) KB csv.gz"
}

one_prefix() {   # one_prefix NAME PREFIX SEED
    set_prefix "$1" "$2"
    start
    workload "$3"
    stop
    collect "$1" "$2"
}

reload_change() {
    local i=0 p
    set_prefix reload_change "${RELOAD_PREFIXES[0]}"
    start
    for p in "${RELOAD_PREFIXES[@]}"; do
        if [ "$i" -gt 0 ]; then
            # the admin session runs with logging off; the reload itself is logged by the postmaster
            admin -c "ALTER SYSTEM SET log_line_prefix = '$p'" -c "SELECT pg_reload_conf()" >/dev/null
            sleep 1
        fi
        workload $((90 + i))
        i=$((i + 1))
    done
    stop
    collect reload_change "${RELOAD_PREFIXES[@]}"
}

WANT=("$@")
wanted() { [ ${#WANT[@]} -eq 0 ] && return 0; local w; for w in "${WANT[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

T0=$(date +%s)
init_cluster
seed=1
for e in "${PREFIXES[@]}"; do
    name="${e%%|*}"; prefix="${e#*|}"
    if wanted "$name"; then log "== $name: '$prefix'"; one_prefix "$name" "$prefix" "$seed"; fi
    seed=$((seed + 1))
done
if wanted reload_change; then log "== reload_change"; reload_change; fi
log "done in $(( $(date +%s) - T0 ))s; $(du -sh "$HERE" | cut -f1) in $HERE"
