#!/usr/bin/env bash
# End-to-end throughput of pgferret on inflated corpus logs, beside pgBadger on the
# same files. Writes a Markdown table on stdout. Usage (from the repository root):
#   bash benches/end_to_end.sh [WORKDIR]          # default /tmp/pgferret-bench
# Needs python3, ../shared/corpus (inflate.py), gzip; pgbadger for the comparison
# (apt-get install pgbadger). Best on an otherwise idle machine: it reports wall and
# CPU seconds; MB/s are computed from the wall time.
set -euo pipefail
W=${1:-/tmp/pgferret-bench}
CORPUS=${CORPUS:-../shared/corpus}
mkdir -p "$W"
cargo build --release -q
BIN=$PWD/target/release/pgferret

inflate() { # src size out
  [ -s "$3" ] || python3 "$CORPUS/inflate.py" "$1" --size "$2" -o "$3" --jobs 2 >/dev/null
}
slice() { # src bytes out: the first bytes of src, cut at a line end
  [ -s "$3" ] || python3 - "$1" "$2" "$3" <<'PY'
import sys
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(src, 'rb').read(n)
open(out, 'wb').write(data[:data.rfind(b'\n') + 1])
PY
}
inflate "$CORPUS/logs/a1_pgbadger/postgresql.log" 1G "$W/stderr-1G.log"
inflate "$CORPUS/logs/b_csv_json/postgresql.csv" 500M "$W/b-500M.csv"
inflate "$CORPUS/logs/b_csv_json/postgresql.json" 500M "$W/b-500M.json"
[ -s "$W/stderr-1G.log.gz" ] || gzip -6 -c "$W/stderr-1G.log" > "$W/stderr-1G.log.gz"
slice "$W/stderr-1G.log" 100000000 "$W/stderr-100M.log"

measure() { # label bytes cmd...
  local label=$1 bytes=$2; shift 2
  /usr/bin/time -o "$W/time.txt" -f "%e %U %S %M" "$@" >/dev/null 2>&1
  read -r wall user sys rss < "$W/time.txt"
  python3 -c "import sys; b,w,u,s,r=int(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]),float(sys.argv[5]),int(sys.argv[6]); print(f'| {sys.argv[1]} | {b/1e6:,.0f} MB | {w:.2f} s | {u+s:.2f} s | {b/1e6/w:,.0f} MB/s | {r/1024:,.0f} MB |')" \
    "$label" "$bytes" "$wall" "$user" "$sys" "$rss"
}
size() { stat -L -c %s "$1"; }

# Every run reads from the page cache, not the disk.
cat "$W"/stderr-1G.log "$W"/b-500M.csv "$W"/b-500M.json "$W"/stderr-1G.log.gz > /dev/null
echo "| run | input | wall | CPU | throughput | max RSS |"
echo "|---|---|---|---|---|---|"
S=$W/stderr-1G.log
for j in 1 2; do
  measure "pgferret stderr -j $j" "$(size "$S")" "$BIN" "$S" -j $j -q -o "$W/out.json"
done
measure "pgferret stderr via stdin -j 2" "$(size "$S")" sh -c "$BIN - -j 2 -q -o $W/out.json < $S"
measure "pgferret stderr .gz -j 2" "$(size "$S")" "$BIN" "$S.gz" -j 2 -q -o "$W/out.json"
for f in b-500M.csv b-500M.json; do
  for j in 1 2; do
    measure "pgferret ${f##*.} -j $j" "$(size "$W/$f")" "$BIN" "$W/$f" -j $j -q -o "$W/out.json"
  done
done
S100=$W/stderr-100M.log
measure "pgferret stderr 100 MB -j 1" "$(size "$S100")" "$BIN" "$S100" -j 1 -q -o "$W/out.json"
if command -v pgbadger >/dev/null; then
  P='%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '
  measure "pgBadger stderr 100 MB -j 1" "$(size "$S100")" pgbadger -q -j 1 -f stderr --prefix "$P" -o "$W/pgb.html" "$S100"
  slice "$W/b-500M.csv" 50000000 "$W/b-50M.csv"
  measure "pgferret csv 50 MB -j 1" "$(size "$W/b-50M.csv")" "$BIN" "$W/b-50M.csv" -j 1 -q -o "$W/out.json"
  measure "pgBadger csv 50 MB -j 1" "$(size "$W/b-50M.csv")" pgbadger -q -j 1 -f csv -o "$W/pgb.html" "$W/b-50M.csv"
fi
