#!/usr/bin/env bash
# Writes testdata/<log>/expected.json from the log itself with grep and awk: figures
# that do not come from pgferret. Run from the repository root:
#   bash testdata/expected.sh testdata/a1_pgbadger/postgresql.log
# A statement line is a line that does not start with TAB (continuation lines carry
# the TAB, and may hold fake "duration:" text inside string literals) whose first
# "LOG:  " (after the prefix) is followed by "duration: X ms  statement: " or "... execute NAME: ".
# A bare duration is "duration: X ms" with nothing after it. A logged statement is
# "statement: SQL" or "execute NAME: SQL" without a duration (log_statement). With
# log_error_verbosity = verbose the message starts with its SQLSTATE ("00000: ").
set -euo pipefail
for log in "$@"; do
  out="$(dirname "$log")/expected.json"
  awk -v lines="$(wc -l < "$log")" '
    /^\t/ { next }
    {
      # The first "LOG:  " after a blank, a colon or a bracket ends the prefix.
      if (!match($0, /[] :]LOG:  /)) next
      rest = substr($0, RSTART + 7)
      sub(/^[0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z]: /, "", rest)
      if (match(rest, /^duration: [0-9.]+ ms  (statement|execute [^:]*): /)) {
        split(rest, w, " "); n++; ms += w[2]
      } else if (match(rest, /^duration: [0-9.]+ ms$/)) {
        split(rest, w, " "); bn++; bms += w[2]
      } else if (match(rest, /^duration: [0-9.]+ ms  (parse|bind) [^:]*: /)) {
        pn++
      } else if (match(rest, /^(statement|execute [^:]*): /)) {
        ln++
      } else if (match(rest, /^duration: [0-9.]+ ms  plan:/)) {
        plans++
      }
    }
    END {
      printf "{\n  \"source\": \"testdata/expected.sh (grep/awk over the log)\",\n"
      printf "  \"lines\": %d,\n", lines
      printf "  \"duration_statements\": %d,\n  \"duration_statements_ms\": %.3f,\n", n, ms
      printf "  \"bare_durations\": %d,\n  \"bare_durations_ms\": %.3f,\n", bn, bms
      printf "  \"protocol_steps\": %d,\n", pn
      printf "  \"logged_statements\": %d,\n", ln
      printf "  \"plans\": %d\n}\n", plans
    }' "$log" > "$out"
  echo "$out: $(tr -d '\n' < "$out")"
done
