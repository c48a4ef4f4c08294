#!/usr/bin/env bash
# Makes testdata/pgbouncer/: a real PgBouncer 1.x (Debian's 1.18) in front of a real
# PostgreSQL 15, both logging the same ~45 s: pgbouncer.log (its own logfile, stats every
# 5 s, connections and disconnections logged) and postgresql.log (the server's stderr).
# The workload: pgbench through the pooler, psql sessions, a wrong password, a database the
# pooler does not know, a database the server does not have, more clients than the pool
# (waits and query_wait_timeout), more than max_client_conn, and at the end the server
# stopped under the pooler (connect failures). expected.json is then counted from
# pgbouncer.log with python (expected.py), never with pgferret.
# Run as root: bash testdata/pgbouncer/make.sh testdata/pgbouncer
# Needs: PostgreSQL 15 (server, psql, pgbench), pgbouncer (apt-get install pgbouncer), python3.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(realpath "${1:?output dir}")"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
WORK=${WORK:-/tmp/pgferret-pgbouncer}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PGPORT_S=${PGPORT_S:-$(free_port)}
BPORT=${BPORT:-$(free_port)}
rm -rf "$WORK"; mkdir -p "$WORK" "$OUT"; chown postgres "$WORK"
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
  [ -f "$WORK/pgbouncer.pid" ] && kill "$(cat "$WORK/pgbouncer.pid")" 2>/dev/null || true
  as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
export TZ=UTC LC_ALL=C.UTF-8
unset PGPASSWORD PGHOST PGPORT PGUSER PGDATABASE

as_pg "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
  --no-locale -E UTF8 --no-instructions >/dev/null
cat >>"$WORK/data/postgresql.conf" <<CONF
port = $PGPORT_S
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 0
log_connections = on
log_disconnections = on
log_checkpoints = on
lc_messages = 'C'
log_timezone = 'UTC'
CONF
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgresql.log" -w start >/dev/null
spsql() { "$PGBIN/psql" -X -q -h "$WORK" -p "$PGPORT_S" -U postgres "$@"; }
spsql -d postgres -c "CREATE ROLE app LOGIN PASSWORD 'secret'" -c "CREATE DATABASE bench OWNER app"
"$PGBIN/pgbench" -h "$WORK" -p "$PGPORT_S" -U app -i -s 1 -q bench >/dev/null 2>&1

# The pooler: transaction pooling, a small pool and a small max_client_conn so that
# clients wait and some are refused; `ghost` points at a database the server lacks.
cat >"$WORK/userlist.txt" <<LIST
"app" "secret"
LIST
cat >"$WORK/pgbouncer.ini" <<INI
[databases]
bench = host=127.0.0.1 port=$PGPORT_S dbname=bench
ghost = host=127.0.0.1 port=$PGPORT_S dbname=ghost
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $WORK/userlist.txt
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
pool_mode = transaction
default_pool_size = 3
max_client_conn = 12
query_wait_timeout = 4
server_idle_timeout = 10
stats_period = 5
log_connections = 1
log_disconnections = 1
log_pooler_errors = 1
log_stats = 1
INI
chown postgres "$WORK"/userlist.txt "$WORK"/pgbouncer.ini
as_pg pgbouncer -d "$WORK/pgbouncer.ini"
for _ in $(seq 50); do [ -f "$WORK/pgbouncer.pid" ] && break; sleep 0.1; done
sleep 1

bpsql() { PGPASSWORD=${PW:-secret} "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$BPORT" -U app "$@"; }
# 1. Steady load: pgbench through the pooler, 4 clients on a pool of 3, transactions of
# two queries (so the stats lines' queries/s differ from their xacts/s).
cat >"$WORK/two.sql" <<'SQL'
\set aid random(1, 100000)
BEGIN;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
SELECT bbalance FROM pgbench_branches WHERE bid = 1;
END;
SQL
PGPASSWORD=secret "$PGBIN/pgbench" -h 127.0.0.1 -p "$BPORT" -U app -c 4 -T 12 -R 20 \
  -f "$WORK/two.sql" bench >/dev/null 2>&1 &
bench=$!
# 2. psql sessions, one with a server-side error.
for i in 1 2 3; do bpsql -d bench -c "SELECT count(*) FROM pgbench_branches" >/dev/null; sleep 0.5; done
bpsql -d bench -c "SELECT 1/0" >/dev/null 2>&1 || true
# 3. A wrong password, twice; a database the pooler does not know; one the server lacks.
PW=wrong bpsql -d bench -c "SELECT 1" >/dev/null 2>&1 || true
PW=wrong bpsql -d bench -c "SELECT 1" >/dev/null 2>&1 || true
bpsql -d nosuchdb -c "SELECT 1" >/dev/null 2>&1 || true
bpsql -d ghost -c "SELECT 1" >/dev/null 2>&1 || true
wait "$bench"
sleep 3
# 4. More clients than the pool: 8 sessions each holding a transaction for 3 s on a pool of
# 3; those still waiting after query_wait_timeout are closed by the pooler.
for i in $(seq 8); do
  bpsql -d bench -c "SELECT pg_sleep(3)" >/dev/null 2>&1 &
done
wait
sleep 2
# 5. More than max_client_conn (12): 16 idle clients at once.
for i in $(seq 16); do
  bpsql -d bench -c "SELECT pg_sleep(2)" >/dev/null 2>&1 &
  sleep 0.05
done
wait
sleep 6
# 6. The server goes away under the pooler: new clients cannot be served.
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null
bpsql -d bench -c "SELECT 1" >/dev/null 2>&1 || true
sleep 6
kill "$(cat "$WORK/pgbouncer.pid")"
sleep 1

cp "$WORK/pgbouncer.log" "$OUT/pgbouncer.log"
cp "$WORK/postgresql.log" "$OUT/postgresql.log"
python3 "$HERE/expected.py" "$OUT/pgbouncer.log" >"$OUT/expected.json"
ls -l "$OUT"
