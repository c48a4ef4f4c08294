#!/usr/bin/env bash
# Upload-to-report time of `pgferret serve` beside the CLI on the same logs, and the
# server's peak memory per upload (a fresh server for each, VmHWM from /proc).
# Usage: bash benches/serve.sh LOG [LOG...] (each is timed with the CLI, then uploaded)
# Make the logs with e.g.
#   python3 ../shared/corpus/inflate.py testdata/a1_pgbadger/postgresql.log --size 1GB -o /tmp/big1.log
# SCRATCH (default: a new temporary directory) holds the reports.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/pgferret}
[ -x "$BIN" ] || cargo build --release
DIR=${SCRATCH:-$(mktemp -d)}
mkdir -p "$DIR"
echo "== machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for LOG in "$@"; do
  SIZE=$(stat -c %s "$LOG")
  echo "== $LOG ($SIZE bytes)"
  /usr/bin/time -f "cli: wall %e s, cpu %U+%S s, max RSS %M KB" \
    "$BIN" -q -o "$DIR/cli.json" --title bench "$LOG"

  rm -rf "$DIR/data"
  "$BIN" serve --listen 127.0.0.1:0 --data "$DIR/data" 2>"$DIR/serve.err" &
  PID=$!
  trap 'kill $PID 2>/dev/null || true' EXIT
  for _ in $(seq 50); do grep -q serving "$DIR/serve.err" && break; sleep 0.2; done
  ADDR=$(grep -o 'http://[0-9.:]*' "$DIR/serve.err")
  echo "server at $ADDR (pid $PID), idle: $(grep VmRSS /proc/$PID/status | tr -s ' \t' ' ')"
  # The fields first (the reading starts with the first file); no Expect: 100-continue wait.
  curl -sS -o "$DIR/answer.json" -H 'Accept: application/json' -H 'Expect:' \
    -F title=bench -F "file=@$LOG;filename=$(basename "$LOG")" \
    -w "serve: upload-to-report %{time_total} s, %{size_upload} bytes up, HTTP %{http_code}\n" "$ADDR/upload"
  echo "serve: peak $(grep VmHWM /proc/$PID/status | tr -s ' \t' ' '), now $(grep VmRSS /proc/$PID/status | tr -s ' \t' ' ')"
  ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$DIR/answer.json")
  python3 - "$DIR/data/reports/$ID/report.json" "$DIR/cli.json" <<'EOF'
import json, sys
served, cli = (json.load(open(p)) for p in sys.argv[1:3])
# The CLI names the input by its path, the server by the file's name.
for r in (served, cli):
    r.pop("run")
    r.pop("server")
    for i in r["inputs"]:
        i["path"] = i["path"].rsplit("/", 1)[-1]
print("served JSON equals the CLI's (run, server and input paths aside):", served == cli,
      "-", served["totals"]["statements"], "statements")
EOF
  kill $PID; wait $PID 2>/dev/null || true
  trap - EXIT
done
