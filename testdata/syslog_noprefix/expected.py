#!/usr/bin/env python3
"""Writes testdata/syslog_noprefix/expected.json from the server's own csvlog twin
(postgresql.csv.gz, the same events as the syslog files): never from pgferret.
`begin_cut` is a whole second with no record within 20 ms of it, and
`statements_from_cut` the duration statements logged at or after it (for --begin)."""
import csv, datetime, gzip, json, re, os
here = os.path.dirname(os.path.abspath(__file__))
with gzip.open(os.path.join(here, "postgresql.csv.gz"), "rt", encoding="utf-8", newline="") as f:
    rows = list(csv.reader(f))
t = lambda r: datetime.datetime.strptime(r[0], "%Y-%m-%d %H:%M:%S.%f UTC")
stmt = re.compile(r"^duration: ([0-9.]+) ms  (statement|execute [^:]*): ")
e = {"source": "testdata/syslog_noprefix/expected.py (the server's csvlog twin)", "records": len(rows),
     "duration_statements": 0, "duration_statements_ms": 0.0, "errors": 0, "by_database": {}, "by_user": {}}
for r in rows:
    m = stmt.match(r[13])
    if m:
        e["duration_statements"] += 1
        e["duration_statements_ms"] += float(m.group(1))
        e["by_database"][r[2]] = e["by_database"].get(r[2], 0) + 1
        e["by_user"][r[1]] = e["by_user"].get(r[1], 0) + 1
    e["errors"] += r[11] == "ERROR"
e["duration_statements_ms"] = round(e["duration_statements_ms"], 3)
times = sorted(t(r) for r in rows)
e["first"] = times[0].strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"
e["last"] = times[-1].strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"
second = times[0].replace(microsecond=0) + datetime.timedelta(seconds=1)
while any(abs((x - second).total_seconds()) < 0.02 for x in times):
    second += datetime.timedelta(seconds=1)
e["begin_cut"] = second.strftime("%Y-%m-%d %H:%M:%S")
e["statements_from_cut"] = sum(1 for r in rows if stmt.match(r[13]) and t(r) >= second)
with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump(e, f, indent=2, sort_keys=True)
    f.write("\n")
print(json.dumps(e))
