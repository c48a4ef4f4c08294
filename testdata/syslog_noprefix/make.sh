#!/usr/bin/env bash
# Makes testdata/syslog_noprefix/: a real PostgreSQL 15 logging to syslog through rsyslog
# with a log_line_prefix that has neither %t/%m nor %p (`user=%u,db=%d `), so the only
# time and pid of each line are in the syslog header. The server also writes a csvlog
# twin of the same events (logging_collector), which gives the expected figures.
# Run as root: bash testdata/syslog_noprefix/make.sh testdata/syslog_noprefix
# Needs: PostgreSQL 15 (server, psql, pgbench) and rsyslog (apt-get install rsyslog).
# Adapted from testdata/syslog/make_syslog_log.sh.
set -euo pipefail
OUT="$(realpath "${1:?output dir}")"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
WORK=${WORK:-/tmp/pgferret-syslog-noprefix}
PORT=${PORT:-54361}
rm -rf "$WORK"; mkdir -p "$WORK/spool" "$WORK/csv" "$OUT"; chmod 777 "$WORK" "$WORK/csv"
as_pg() { runuser -u postgres -- "$@"; }

cat >"$WORK/rsyslog.conf" <<CONF
global(workDirectory="$WORK/spool")
module(load="imuxsock" SysSock.Name="$WORK/log.sock")
local0.* action(type="omfile" file="$WORK/traditional.log" template="RSYSLOG_TraditionalFileFormat")
local0.* action(type="omfile" file="$WORK/iso.log" template="RSYSLOG_FileFormat")
CONF
had_devlog=""; [ -e /dev/log ] && { had_devlog=1; mv /dev/log /dev/log.pgferret-saved; }
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  [ -f "$WORK/rsyslogd.pid" ] && kill "$(cat "$WORK/rsyslogd.pid")" 2>/dev/null || true
  rm -f /dev/log; [ -n "$had_devlog" ] && mv /dev/log.pgferret-saved /dev/log || true
}
trap cleanup EXIT
rsyslogd -f "$WORK/rsyslog.conf" -i "$WORK/rsyslogd.pid"
for _ in $(seq 50); do [ -S "$WORK/log.sock" ] && break; sleep 0.1; done
ln -sf "$WORK/log.sock" /dev/log

as_pg "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth=trust --no-locale -E UTF8 --no-instructions >/dev/null
cat >>"$WORK/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
log_destination = 'syslog,csvlog'
logging_collector = on
log_directory = '$WORK/csv'
log_filename = 'postgresql.log'
syslog_facility = 'LOCAL0'
syslog_ident = 'postgres'
syslog_sequence_numbers = on
syslog_split_messages = on
log_line_prefix = 'user=%u,db=%d '
log_min_duration_statement = 0
log_connections = on
log_disconnections = on
log_checkpoints = on
lc_messages = 'C'
log_timezone = 'UTC'
CONF
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -w start >/dev/null
psql() { "$PGBIN/psql" -X -q -h "$WORK" -p "$PORT" -U postgres "$@"; }
psql -d postgres -c "CREATE DATABASE bench"
"$PGBIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -i -s 1 -q bench >/dev/null 2>&1
"$PGBIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -c 2 -T 3 -R 20 -M extended bench >/dev/null 2>&1
for i in 1 2 3; do
  psql -d bench <<SQL >/dev/null 2>&1 || true
SELECT aid,
       abalance
  FROM pgbench_accounts
 WHERE aid IN ($i, $((i + 1)), $((i + 2)));
SELECT pg_sleep(0.2), $i AS n;
SELECT * FROM no_such_table_$i;
SQL
done
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null
sleep 1
cp "$WORK/traditional.log" "$OUT/postgresql.log"
cp "$WORK/iso.log" "$OUT/postgresql-iso.log"
gzip -9c "$WORK/csv/postgresql.csv" >"$OUT/postgresql.csv.gz"
echo "wrote $OUT/postgresql.log ($(wc -l <"$OUT/postgresql.log") lines), $OUT/postgresql-iso.log, $OUT/postgresql.csv.gz"
