#!/usr/bin/env bash
# Upload-to-report time of `pgferret serve` beside the CLI on the same log, and the
# server's peak memory. Usage: bash benches/serve.sh LOG [SCRATCH_DIR]
# (LOG e.g. python3 ../shared/corpus/inflate.py testdata/a1_pgbadger/postgresql.log --size 1GB -o big.log)
set -euo pipefail
cd "$(dirname "$0")/.."
LOG=$1
DIR=${2:-$(mktemp -d)}
BIN=target/release/pgferret
[ -x "$BIN" ] || cargo build --release
mkdir -p "$DIR"
echo "== CLI: $BIN -o r.json $LOG"
/usr/bin/time -f "cli: wall %e s, cpu %U+%S s, max RSS %M KB" "$BIN" -q -o "$DIR/cli.json" "$LOG"

rm -rf "$DIR/data"
"$BIN" serve --listen 127.0.0.1:0 --data "$DIR/data" 2>"$DIR/serve.err" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q serving "$DIR/serve.err" && break; sleep 0.2; done
ADDR=$(grep -o 'http://[0-9.:]*' "$DIR/serve.err")
echo "== server at $ADDR (pid $PID), before the upload: $(grep VmRSS /proc/$PID/status)"
curl -sS -o "$DIR/answer.json" -H 'Accept: application/json' -F "file=@$LOG" \
  -w "serve: upload-to-report %{time_total} s, %{size_upload} bytes up, HTTP %{http_code}\n" "$ADDR/upload"
echo "serve: peak $(grep VmHWM /proc/$PID/status), now $(grep VmRSS /proc/$PID/status)"
cat "$DIR/answer.json"; echo
