#!/usr/bin/env bash
# make_queryid_log.sh -- write postgresql.log: a real PostgreSQL 15 log whose prefix carries
# the server's query id (%Q), for tests/normalize_queryid.rs. Adapted from
# ../shared/corpus/make_corpus.sh (same cluster handling, one small scenario).
#
# usage (as root or as a user that can run initdb):  ./make_queryid_log.sh [OUTDIR]
# environment: PGBIN (default /usr/lib/postgresql/15/bin), QID_WORK (default /tmp/pgferret-qid),
#              QID_PORT (default 54339)
set -Eeuo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
WORK="${QID_WORK:-/tmp/pgferret-qid}"
PORT="${QID_PORT:-54339}"
DATA="$WORK/data"
unset PGPASSWORD PGSERVICE PGOPTIONS PGAPPNAME PGDATA
export PGHOST="$WORK/sock" PGPORT="$PORT" PGUSER=postgres PGDATABASE=qid LC_ALL=C.UTF-8 TZ=UTC

if [ "$(id -u)" = 0 ]; then as_server() { runuser -u postgres -- "$@"; }; else as_server() { "$@"; }; fi
stop() { [ -f "$DATA/postmaster.pid" ] && as_server "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null || true; }
trap stop EXIT

stop; rm -rf "$WORK"; mkdir -p "$DATA" "$WORK/sock"; chmod 700 "$DATA"
[ "$(id -u)" = 0 ] && chown -R postgres "$WORK"
as_server "$PGBIN/initdb" -D "$DATA" -U postgres --auth-local=trust --no-locale -E UTF8 >/dev/null
as_server tee -a "$DATA/postgresql.conf" >/dev/null <<CONF
listen_addresses = ''
port = $PORT
unix_socket_directories = '$WORK/sock'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track_utility = on
compute_query_id = on
logging_collector = off
log_line_prefix = '%m [%p] %Q %q%u@%d '
log_min_duration_statement = 0
log_timezone = 'UTC'
lc_messages = 'C'
CONF
as_server "$PGBIN/pg_ctl" -D "$DATA" -l "$WORK/postgresql.log" -w start >/dev/null

quiet() { PGOPTIONS='-c log_min_duration_statement=-1 -c log_min_messages=panic' "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
quiet -d postgres -c "CREATE DATABASE qid"
quiet -c "CREATE EXTENSION pg_stat_statements" -c "
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric, note text, active bool DEFAULT true,
                    created timestamptz DEFAULT now(), attrs jsonb DEFAULT '{}');
INSERT INTO items (id, name, price, attrs)
  SELECT g, 'item ' || g, g % 97, jsonb_build_object('k', g % 5) FROM generate_series(1, 500) g;
CREATE TABLE \"MixedCase\" (\"Weird Col\" int);
SELECT pg_stat_statements_reset();"

python3 "$HERE/gen_workload.py" >"$WORK/workload.sql"
"$PGBIN/psql" -X -q -f "$WORK/workload.sql" >/dev/null 2>&1 || true
# extended protocol: statements arrive with $n parameters
cat >"$WORK/bench.sql" <<'SQL'
\set id random(1, 500)
SELECT id, name FROM items WHERE id = :id;
SELECT id FROM items WHERE id IN (:id, :id + 1);
UPDATE items SET price = price + 1 WHERE id = :id;
SQL
"$PGBIN/pgbench" -n -M extended -t 60 -f "$WORK/bench.sql" qid >/dev/null
quiet -c "\\copy (SELECT queryid, calls, query FROM pg_stat_statements ORDER BY queryid) TO '$WORK/pg_stat_statements.csv' CSV HEADER"
stop
cp "$WORK/postgresql.log" "$OUT/postgresql.log"
cp "$WORK/pg_stat_statements.csv" "$OUT/pg_stat_statements.csv"
chmod 644 "$OUT/postgresql.log" "$OUT/pg_stat_statements.csv"
echo "wrote $OUT/postgresql.log ($(wc -c <"$OUT/postgresql.log") bytes)"
