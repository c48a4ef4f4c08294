#!/usr/bin/env bash
# Makes testdata/auto_explain_json/postgresql.log: a real PostgreSQL 15 stderr log with
# auto_explain in JSON format (auto_explain.log_format = json) for every statement.
# Run as root: bash testdata/auto_explain_json/make_log.sh testdata/auto_explain_json
set -euo pipefail
OUT="$(realpath "${1:?output dir}")"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
WORK=${WORK:-/tmp/pgferret-autoexplain}
PORT=${PORT:-54359}
rm -rf "$WORK"; mkdir -p "$WORK"; chmod 777 "$WORK"
as_pg() { runuser -u postgres -- "$@"; }
trap 'as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true' EXIT
as_pg "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth=trust --no-locale -E UTF8 --no-instructions >/dev/null
cat >>"$WORK/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK'
shared_preload_libraries = 'auto_explain'
auto_explain.log_min_duration = 0
auto_explain.log_format = json
log_min_duration_statement = 0
log_line_prefix = '%m [%p] %q%u@%d '
lc_messages = 'C'
log_timezone = 'UTC'
CONF
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgresql.log" -w start >/dev/null
psql() { "$PGBIN/psql" -X -q -h "$WORK" -p "$PORT" -U postgres -d postgres "$@"; }
psql -c "CREATE TABLE t (id int PRIMARY KEY, name text)" \
     -c "INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 1000) g"
for i in 1 2 3; do
  psql -c "SELECT name FROM t WHERE id = $i" \
       -c "SELECT count(*) FROM t WHERE name LIKE 'n\"$i%'" \
       -c "SELECT id,
  name
FROM t
WHERE id IN ($i, $((i + 5)))
ORDER BY id"
done
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null
cp "$WORK/postgresql.log" "$OUT/postgresql.log"
echo "wrote $OUT/postgresql.log ($(wc -l <"$OUT/postgresql.log") lines)"
