#!/usr/bin/env python3
"""expected.json of a statement_only case, from its postgresql.log and pg_stat_statements.csv
alone (never from pgferret). Usage: expected.py testdata/statement_only/<case>

An execution is a `statement:` / `execute NAME:` line (log_statement) that did not fail,
plus any `duration: X ms  statement:|execute` line. It is timed when the next line of its
process that is a statement, a bare `duration: X ms` or an error is that bare duration. It
failed when an ERROR/FATAL of its process follows whose STATEMENT is its text (pg_stat_statements
does not count failed statements). Bare durations with no statement waiting are orphans
(parse/bind under log_duration)."""
import csv, json, re, sys, os

SEV = r"(DEBUG[1-5]?|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|STATEMENT|LOCATION)"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+ \[(\d+)\]: \[\d+-1\] "
                  r"user=[^,]*,db=([^,]*),app=.*?,client=\S* " + SEV + r":  (.*)$")
DUR = re.compile(r"^duration: ([0-9.]+) ms(.*)$", re.S)
STMT = re.compile(r"^(?:statement|execute [^:]*): (.*)$", re.S)


def entries(path):
    cur = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("\t") and cur is not None:
                cur[3] += "\n" + line[1:]
                continue
            m = LINE.match(line)
            if not m:
                raise SystemExit(f"{path}: unparsed line: {line[:120]}")
            if cur is not None:
                yield cur
            cur = [int(m.group(1)), m.group(2), m.group(3), m.group(4)]
    if cur is not None:
        yield cur


def main(case):
    log = os.path.join(case, "postgresql.log")
    c = dict(lines=0, logged=0, timed=0, timed_ms=0.0, untimed=0, failed=0,
             duration_statements=0, duration_statements_ms=0.0, protocol_steps=0,
             orphan_durations=0)
    with open(log, encoding="utf-8", errors="replace") as f:
        c["lines"] = sum(1 for _ in f)
    pending, error_pid = {}, None
    for pid, db, sev, msg in entries(log):
        if sev == "STATEMENT":
            if error_pid == pid and pending.get(pid) == msg:
                del pending[pid]
                c["failed"] += 1
            error_pid = None
            continue
        if sev in ("DETAIL", "HINT", "CONTEXT", "QUERY", "LOCATION"):
            continue  # between an error and its STATEMENT
        error_pid = pid if sev in ("ERROR", "FATAL", "PANIC") else None
        if sev != "LOG":
            continue
        d = DUR.match(msg)
        if d:
            ms, rest = float(d.group(1)), d.group(2)
            if rest == "":
                if pid in pending:
                    del pending[pid]
                    c["timed"] += 1
                    c["timed_ms"] += ms
                else:
                    c["orphan_durations"] += 1
            elif STMT.match(rest[2:]) and not rest[2:].startswith(("parse ", "bind ")):
                c["duration_statements"] += 1
                c["duration_statements_ms"] += ms
            elif rest[2:].startswith(("parse ", "bind ")):
                c["protocol_steps"] += 1
            continue
        s = STMT.match(msg)
        if s:
            c["logged"] += 1
            if pid in pending:
                c["untimed"] += 1
            pending[pid] = s.group(1)
    c["untimed"] += len(pending)
    c["executions"] = c["timed"] + c["untimed"] + c["duration_statements"]
    c["timed_ms"] = round(c["timed_ms"], 3)
    c["duration_statements_ms"] = round(c["duration_statements_ms"], 3)
    calls = 0
    with open(os.path.join(case, "pg_stat_statements.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["toplevel"] == "t":
                calls += int(r["calls"])
    c["pgss_calls"] = calls
    out = {"source": "testdata/statement_only/expected.py (python over the log; pgss calls)"}
    out.update(c)
    with open(os.path.join(case, "expected.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(f"{case}: {json.dumps(out)}", file=sys.stderr)


if __name__ == "__main__":
    for a in sys.argv[1:]:
        main(a.rstrip("/"))
