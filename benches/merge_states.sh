#!/usr/bin/env bash
# Makes 30 daily logs from testdata/c_incident (the same day's entries dated on 30
# consecutive days, three hosts in turn), saves each with --save, and times
# `pgferret merge` of the 30 states. Usage: bash benches/merge_states.sh OUTDIR
set -euo pipefail
out=${1:?usage: merge_states.sh OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release/pgferret
mkdir -p "$out"
python3 - "$root/testdata/c_incident/postgresql.log" "$out" <<'PY'
import datetime, sys
src, out = sys.argv[1], sys.argv[2]
text = open(src, encoding="utf-8", errors="surrogateescape").read()
day0 = datetime.date(2026, 11, 1)
for i in range(30):
    d = (day0 + datetime.timedelta(days=i)).isoformat()
    with open(f"{out}/db{i % 3 + 1}-{d}.log", "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(text.replace("2026-11-24 ", d + " "))
PY
for log in "$out"/db*.log; do
    name=$(basename "$log" .log)
    "$bin" "$log" --host "${name%%-*}" --save "$out/$name.pgf" -o "$out/$name.json" -q
done
du -ch "$out"/*.pgf | tail -1
/usr/bin/time -f "merge of 30 states: %e s wall, %U s user, %M KB max RSS" \
    "$bin" merge "$out"/*.pgf -o "$out/fleet.json" -o "$out/fleet.html" -q
