#!/usr/bin/env python3
"""Expected figures for one log of testdata/prefixes, computed from its csvlog twin.

usage: expected.py DIR [--prefix P ...]   (writes DIR/expected.json; without --prefix the
       prefixes already in DIR/expected.json are kept)

The server wrote DIR/postgresql.log (stderr, under the prefix) and DIR/postgresql.csv.gz
(csvlog) from the same events. The csv carries user, database, application, pid and query id
of every record without any prefix, so it is the ground truth for what the prefix holds.
A statement is a csv record whose message is "duration: X ms  statement: ..." or
"duration: X ms  execute NAME: ..." (the extended protocol's parse and bind durations are not
statements). The stderr log is checked against the csv: the same number of statement lines.
An empty user, database or application name is "" in the csv but "[unknown]" in the stderr
prefix (PostgreSQL's elog.c writes %u, %d and %a that way), so it is counted as "[unknown]".
Standard library only.
"""
import argparse
import collections
import csv
import gzip
import json
import os
import re
import sys

# PostgreSQL 15 csvlog columns
COLS = ["log_time", "user_name", "database_name", "process_id", "connection_from", "session_id",
        "session_line_num", "command_tag", "session_start_time", "virtual_transaction_id",
        "transaction_id", "error_severity", "sql_state_code", "message", "detail", "hint",
        "internal_query", "internal_query_pos", "context", "query", "query_pos", "location",
        "application_name", "backend_type", "leader_pid", "query_id"]
STATEMENT = re.compile(r"^duration: [0-9.]+ ms  (statement: |execute [^:]*: )")
STDERR_STATEMENT = re.compile(r"LOG:  duration: [0-9.]+ ms  (statement: |execute [^:]*: )")


def counts(rows, key):
    c = collections.Counter(r[key] or "[unknown]" for r in rows)
    return dict(sorted(c.items()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--prefix", action="append")
    a = ap.parse_args()
    if not a.prefix:
        with open(os.path.join(a.dir, "expected.json"), encoding="utf-8") as f:
            a.prefix = json.load(f)["prefixes"]
    with gzip.open(os.path.join(a.dir, "postgresql.csv.gz"), "rt", encoding="utf-8", newline="") as f:
        records = [dict(zip(COLS, r)) for r in csv.reader(f)]
    bad = [r for r in records if len(r) != len(COLS)]
    if bad:
        sys.exit(f"{a.dir}: {len(bad)} csv records without {len(COLS)} fields")
    stmts = [r for r in records if r["error_severity"] == "LOG" and STATEMENT.match(r["message"])]
    # the stderr twin: lines that are not continuation lines (TAB) holding a statement duration
    with open(os.path.join(a.dir, "postgresql.log"), encoding="utf-8", errors="replace") as f:
        stderr_stmts = sum(1 for line in f if not line.startswith("\t") and STDERR_STATEMENT.search(line))
    if stderr_stmts != len(stmts):
        sys.exit(f"{a.dir}: stderr has {stderr_stmts} statement lines, csv {len(stmts)}")
    doc = {
        "source": "testdata/prefixes/expected.py over postgresql.csv.gz (the server's csvlog twin)",
        "prefix": a.prefix[0] if len(a.prefix) == 1 else None,
        "prefixes": a.prefix,
        "records": len(records),
        "statements": len(stmts),
        "databases": counts(stmts, "database_name"),
        "users": counts(stmts, "user_name"),
        "applications": counts(stmts, "application_name"),
        "query_ids": dict(sorted(collections.Counter(r["query_id"] for r in stmts).items())),
        "pids": len({r["process_id"] for r in records}),
    }
    with open(os.path.join(a.dir, "expected.json"), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{a.dir}: {len(records)} records, {len(stmts)} statements, "
          f"{len(doc['databases'])} databases, {len(doc['users'])} users, "
          f"{len(doc['applications'])} applications, {len(doc['query_ids'])} query ids")


if __name__ == "__main__":
    main()
