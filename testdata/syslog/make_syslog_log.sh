#!/usr/bin/env bash
# Makes testdata/syslog/: a real PostgreSQL 15 logging to syslog through rsyslog, written
# twice by rsyslog: the traditional format (`Nov 24 06:10:01 host postgres[123]: [5-1] ...`)
# and the RFC 3339 one (`2026-11-24T06:10:01.123456+00:00 host postgres[123]: ...`).
# Run as root: bash testdata/syslog/make_syslog_log.sh testdata/syslog
# Needs: PostgreSQL 15 (server, psql, pgbench) and rsyslog (apt-get install rsyslog).
set -euo pipefail
OUT="$(realpath "${1:?output dir}")"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
WORK=${WORK:-/tmp/pgferret-syslog}
PORT=${PORT:-54349}
rm -rf "$WORK"; mkdir -p "$WORK/spool" "$OUT"; chmod 777 "$WORK"
as_pg() { runuser -u postgres -- "$@"; }

# rsyslog on its own socket; PostgreSQL finds syslog at /dev/log, so point that at it.
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
log_destination = 'syslog'
syslog_facility = 'LOCAL0'
syslog_ident = 'postgres'
syslog_sequence_numbers = on
syslog_split_messages = on
log_line_prefix = '%m [%p] %q%u@%d '
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
"$PGBIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -c 2 -T 4 -R 25 -M extended bench >/dev/null 2>&1
for i in 1 2 3 4 5; do
  psql -d bench <<SQL >/dev/null 2>&1 || true
SELECT aid,
       abalance
  FROM pgbench_accounts
 WHERE aid IN ($i, $((i + 1)), $((i + 2)))
 ORDER BY aid;
SELECT 'tab	inside' AS t, $i AS n;
SELECT '$(printf 'long%.0s' $(seq 400))' AS long_literal_split_by_syslog, $i AS n;
SELECT * FROM no_such_table_$i;
SQL
done
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null
sleep 1
cp "$WORK/traditional.log" "$OUT/postgresql.log"
cp "$WORK/iso.log" "$OUT/postgresql-iso.log"
echo "wrote $OUT/postgresql.log ($(wc -l <"$OUT/postgresql.log") lines), $OUT/postgresql-iso.log"
