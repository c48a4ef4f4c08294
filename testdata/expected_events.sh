#!/usr/bin/env bash
# Writes testdata/<log>/expected_events.json from the log itself with awk: counts of
# the incident's signals that do not come from pgferret. Run from the repository root:
#   bash testdata/expected_events.sh testdata/c_incident/postgresql.log
# A message line is a line that does not start with TAB (continuation lines carry the
# TAB and may hold fake "LOG:" text inside string literals); its severity is the first
# "WORD:  " after a blank, colon or bracket (the end of the prefix). With
# log_error_verbosity = verbose the message starts with its SQLSTATE ("57014: ").
set -euo pipefail
for log in "$@"; do
  out="$(dirname "$log")/expected_events.json"
  awk '
    /^\t/ { next }
    {
      if (!match($0, /[] :](LOG|ERROR|FATAL|PANIC|WARNING|DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION|NOTICE|INFO):  /)) next
      head = substr($0, RSTART + 1, RLENGTH - 1)
      sev = substr(head, 1, index(head, ":") - 1)
      msg = substr($0, RSTART + RLENGTH)
      sub(/^[0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z]: /, "", msg)
      if (sev == "ERROR" || sev == "FATAL" || sev == "PANIC") errors++
      if (sev == "FATAL") fatals++
      if (sev == "WARNING") warnings++
      if (sev != "LOG" && sev != "ERROR" && sev != "FATAL") next
      if (msg ~ /^process [0-9]+ still waiting for /) lock_waits++
      else if (msg ~ /^process [0-9]+ acquired /) lock_acquired++
      else if (msg ~ /^process [0-9]+ detected deadlock while waiting for /) deadlock_waits++
      else if (msg == "deadlock detected") deadlocks++
      else if (msg ~ /^canceling statement due to statement timeout/) { statement_timeouts++; cancellations++ }
      else if (msg ~ /^canceling statement due to lock timeout/) { lock_timeouts++; cancellations++ }
      else if (msg ~ /^(canceling statement due to (user request|conflict with recovery)|canceling autovacuum task|terminating autovacuum process due to administrator command|terminating connection due to (idle|transaction timeout|administrator command|conflict with recovery))/) cancellations++
      else if (msg ~ /^temporary file: /) { temp_files++; n = split(msg, w, " "); temp_bytes += w[n] }
      else if (msg ~ /^checkpoint starting: /) checkpoints++
      else if (msg ~ /^checkpoint complete: /) checkpoints_complete++
      else if (msg ~ /^checkpoints are occurring too frequently/) checkpoint_warnings++
      else if (msg ~ /^automatic (aggressive )?vacuum (to prevent wraparound )?of table /) autovacuums++
      else if (msg ~ /^automatic analyze of table /) autoanalyzes++
      else if (msg ~ /^connection received: /) connections_received++
      else if (msg ~ /^connection authorized: /) connections++
      else if (msg ~ /^disconnection: /) disconnections++
      else if (msg ~ /^remaining connection slots are reserved|^sorry, too many clients already/) connection_limit++
      else if (msg ~ /^password authentication failed for user|^no pg_hba.conf entry/) auth_failures++
      else {
        sql = msg
        if (!sub(/^duration: [0-9.]+ ms  (statement|execute [^:]*): /, "", sql) && !sub(/^(statement|execute [^:]*): /, "", sql)) next
        if (toupper(sql) ~ /^[ ]*(CREATE|DROP|ALTER|TRUNCATE|REINDEX|VACUUM|ANALYZE|CLUSTER|REFRESH|GRANT|REVOKE|COMMENT)([^A-Z]|$)/) ddl++
      }
    }
    END {
      printf "{\n  \"source\": \"testdata/expected_events.sh (awk over the log)\",\n"
      printf "  \"lock_waits\": %d,\n  \"lock_acquired\": %d,\n  \"deadlock_waits\": %d,\n", lock_waits, lock_acquired, deadlock_waits
      printf "  \"deadlocks\": %d,\n  \"statement_timeouts\": %d,\n  \"lock_timeouts\": %d,\n", deadlocks, statement_timeouts, lock_timeouts
      printf "  \"cancellations\": %d,\n  \"errors\": %d,\n  \"fatals\": %d,\n  \"warnings\": %d,\n", cancellations, errors, fatals, warnings
      printf "  \"temp_files\": %d,\n  \"temp_bytes\": %d,\n", temp_files, temp_bytes
      printf "  \"checkpoints\": %d,\n  \"checkpoints_complete\": %d,\n  \"checkpoint_warnings\": %d,\n", checkpoints, checkpoints_complete, checkpoint_warnings
      printf "  \"autovacuums\": %d,\n  \"autoanalyzes\": %d,\n", autovacuums, autoanalyzes
      printf "  \"connections_received\": %d,\n  \"connections\": %d,\n  \"disconnections\": %d,\n", connections_received, connections, disconnections
      printf "  \"connection_limit\": %d,\n  \"auth_failures\": %d,\n  \"ddl\": %d\n}\n", connection_limit, auth_failures, ddl
    }' "$log" > "$out"
  echo "$out: $(tr -d '\n' < "$out")"
done
