#!/usr/bin/env bash
# The measurements of issue 14 ("1 GB/s on two cores"), on a quiet machine:
#   - a 1 GB and a 5 GB stderr log inflated from testdata/a3_ddl_extended (every
#     statement logged, extended protocol) with the corpus's inflate.py;
#   - pgferret -j 1 and -j 2 on the 1 GB log (hyperfine, median of 5, page-cached,
#     JSON report written), beside `rg -c 'duration: '` and `wc -l` as the floor;
#   - pgBadger on a 30 MB slice of the same log;
#   - peak RSS (/usr/bin/time -v) at -j 2 on the 1 GB and the 5 GB log;
#   - pgferret on stdin and on the gzipped 1 GB log (-j 2), for the other paths.
# Prints a Markdown table. Usage, from the repository root:
#   bash scripts/bench/e2e.sh [WORKDIR]        # default /tmp/pgferret-e2e
# Needs python3, hyperfine, rg, pgbadger, gzip, /usr/bin/time; about 13 GB free in
# WORKDIR (the 5 GB log, its 1 GB sibling and a .gz). Building the 5 GB log takes a
# while (inflate.py renders ~5 MB/s with --jobs 2); set SKIP_5G=1 to leave it out.
set -euo pipefail
W=${1:-/tmp/pgferret-e2e}
CORPUS=${CORPUS:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/corpus}
[ -f "$CORPUS/inflate.py" ] || CORPUS=/work/shared/corpus
SRC=testdata/a3_ddl_extended/postgresql.log
mkdir -p "$W"
cargo build --release -q
BIN=$PWD/target/release/pgferret

inflate() { # size out
  [ -s "$2" ] || python3 "$CORPUS/inflate.py" "$SRC" --size "$1" -o "$2" --jobs 2 >/dev/null
}
slice() { # src bytes out: the first bytes of src, cut at a line end
  [ -s "$3" ] || python3 - "$1" "$2" "$3" <<'PY'
import sys
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(src, 'rb').read(n)
open(out, 'wb').write(data[:data.rfind(b'\n') + 1])
PY
}
L1=$W/ext-1G.log
L5=$W/ext-5G.log
inflate 1G "$L1"
[ -n "${SKIP_5G:-}" ] || inflate 5G "$L5"
[ -s "$L1.gz" ] || gzip -6 -c "$L1" > "$L1.gz"
slice "$L1" 30000000 "$W/ext-30M.log"
size() { stat -L -c %s "$1"; }
cat "$L1" "$L1.gz" > /dev/null # page cache

# hyperfine: median wall seconds of 5 runs (1 warm-up) -> $MEDIAN
hf() { # label bytes cmd
  local label=$1 bytes=$2 cmd=$3
  hyperfine -N --warmup 1 --runs 5 --export-json "$W/hf.json" "$cmd" >/dev/null 2>&1 ||
    hyperfine --warmup 1 --runs 5 --export-json "$W/hf.json" "$cmd" >/dev/null
  python3 - "$label" "$bytes" "$W/hf.json" <<'PY'
import json, sys
label, b, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = json.load(open(path))["results"][0]
med = r["median"]
cpu = r["user"] + r["system"]
print(f"| {label} | {b/1e6:,.0f} MB | {med:.3f} s | {cpu:.2f} s | {b/1e6/med:,.0f} MB/s | |")
PY
}
# /usr/bin/time -v: wall and peak RSS of one run
rss() { # label bytes cmd...
  local label=$1 bytes=$2; shift 2
  /usr/bin/time -v -o "$W/time.txt" "$@" >/dev/null 2>&1
  python3 - "$label" "$bytes" "$W/time.txt" <<'PY'
import re, sys
label, b, t = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
parts = [float(x) for x in wall.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
cpu = float(re.search(r"User time \(seconds\): (\S+)", t).group(1)) + float(re.search(r"System time \(seconds\): (\S+)", t).group(1))
print(f"| {label} | {b/1e6:,.0f} MB | {secs:.2f} s | {cpu:.2f} s | {b/1e6/secs:,.1f} MB/s | {rss/1024:,.0f} MB |")
PY
}

echo "| run | input | wall (median of 5 for hyperfine rows) | CPU | throughput | max RSS |"
echo "|---|---|---|---|---|---|"
B1=$(size "$L1")
hf "pgferret -j 1 (JSON report)" "$B1" "$BIN $L1 -j 1 -q -o $W/out.json"
hf "pgferret -j 2 (JSON report)" "$B1" "$BIN $L1 -j 2 -q -o $W/out.json"
hf "rg -c 'duration: ' (floor)" "$B1" "rg -c 'duration: ' $L1"
hf "wc -l (floor)" "$B1" "wc -l $L1"
rss "pgferret -j 2, 1 GB" "$B1" "$BIN" "$L1" -j 2 -q -o "$W/out.json"
rss "pgferret -j 1, 1 GB" "$B1" "$BIN" "$L1" -j 1 -q -o "$W/out.json"
rss "pgferret stdin -j 2, 1 GB" "$B1" sh -c "$BIN - -j 2 -q -o $W/out.json < $L1"
rss "pgferret .gz -j 2, 1 GB" "$B1" "$BIN" "$L1.gz" -j 2 -q -o "$W/out.json"
if [ -z "${SKIP_5G:-}" ]; then
  cat "$L5" > /dev/null
  rss "pgferret -j 2, 5 GB" "$(size "$L5")" "$BIN" "$L5" -j 2 -q -o "$W/out.json"
fi
S30=$W/ext-30M.log
rss "pgferret -j 1, 30 MB" "$(size "$S30")" "$BIN" "$S30" -j 1 -q -o "$W/out.json"
if command -v pgbadger >/dev/null; then
  rss "pgBadger -j 1, 30 MB" "$(size "$S30")" pgbadger -q -j 1 -f stderr --prefix '%t [%p-%l] %q%u@%d ' -o "$W/pgb.html" "$S30"
fi
