#!/usr/bin/env python3
"""Builds the managed-service logs of testdata/{heroku,cloudsql,cloudnativepg,csv_quoted}/
around REAL records: a slice of testdata/b_csv_json/postgresql.csv.gz (PostgreSQL 15's own
csvlog of a pgbench run). Each record is written in the documented shape of the format:

  heroku         `heroku logs` lines: `TS app[postgres.PID]: [DATABASE] [N-k] sql_error_code = CODE SEV:  text`
                 (log_line_prefix 'sql_error_code = %e ', one [N-k] line per message line, DETAIL...),
                 with `app[heroku-postgres]` metrics samples and router lines between them;
                 and the same as a log drain (RFC 5424 with octet counts, `[HEROKU_POSTGRESQL_RED]`).
  cloudsql       Cloud Logging LogEntry objects, the text in textPayload with Cloud SQL's prefix
                 '%m [%p]: [%l-1] db=%d,user=%u '; one per line (oldest first) and as the JSON array
                 `gcloud logging read --format=json` prints (newest first); an audit entry between.
  cloudnativepg  CloudNativePG JSON lines (`"logger":"postgres","msg":"record"`, csvlog columns as
                 strings under `record`) with instance-manager lines between them.
  csv_quoted     the csvlog rewritten with every field quoted, and with quotes only where needed.

expected.json beside each log holds figures counted here from the records' own fields
(message, error_severity, user_name, database_name, log_time): never from pgferret.
Run from the repository root: python3 scripts/make_cloud_logs.py
"""
import csv, datetime, gzip, io, json, os, re

START, COUNT = 4500, 800
COLS = ["log_time", "user_name", "database_name", "process_id", "connection_from", "session_id",
        "session_line_num", "command_tag", "session_start_time", "virtual_transaction_id",
        "transaction_id", "error_severity", "sql_state_code", "message", "detail", "hint",
        "internal_query", "internal_query_pos", "context", "query", "query_pos", "location",
        "application_name", "backend_type", "leader_pid", "query_id"]
AUX = [("detail", "DETAIL"), ("hint", "HINT"), ("internal_query", "QUERY"),
       ("context", "CONTEXT"), ("query", "STATEMENT")]


def records():
    with gzip.open("testdata/b_csv_json/postgresql.csv.gz", "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return [dict(zip(COLS, r)) for r in rows[START:START + COUNT]]


def when(r):
    return datetime.datetime.strptime(r["log_time"], "%Y-%m-%d %H:%M:%S.%f UTC").replace(
        tzinfo=datetime.timezone.utc)


def iso(t, frac=6, z="+00:00"):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + t.strftime("%f")[:frac] + z


def expected(recs, extra):
    stmt = re.compile(r"^duration: ([0-9.]+) ms  (statement|execute [^:]*): ")
    step = re.compile(r"^duration: ([0-9.]+) ms  (parse|bind) [^:]*: ")
    e = {"source": "scripts/make_cloud_logs.py (counted from the csvlog records' own fields)",
         "records": len(recs), "duration_statements": 0, "duration_statements_ms": 0.0,
         "protocol_steps": 0, "errors": 0, "connections": 0, "by_database": {}, "by_user": {},
         "begin": None, "end": None}
    for r in recs:
        m = stmt.match(r["message"])
        if m:
            e["duration_statements"] += 1
            e["duration_statements_ms"] += float(m.group(1))
            for k, f in (("by_database", "database_name"), ("by_user", "user_name")):
                e[k][r[f]] = e[k].get(r[f], 0) + 1
        if step.match(r["message"]):
            e["protocol_steps"] += 1
        if r["error_severity"] == "ERROR":
            e["errors"] += 1
        if r["message"].startswith("connection authorized"):
            e["connections"] += 1
    e["duration_statements_ms"] = round(e["duration_statements_ms"], 3)
    times = [when(r) for r in recs]
    e["begin"] = min(times).strftime("%Y-%m-%dT%H:%M:%S.") + min(times).strftime("%f")[:3] + "Z"
    e["end"] = max(times).strftime("%Y-%m-%dT%H:%M:%S.") + max(times).strftime("%f")[:3] + "Z"
    e.update(extra)
    return e


def write(dirname, files, exp):
    os.makedirs(dirname, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(dirname, name), "w", encoding="utf-8", newline="") as f:
            f.write(text)
    with open(os.path.join(dirname, "expected.json"), "w") as f:
        json.dump(exp, f, indent=2, sort_keys=True)
        f.write("\n")


def message_lines(r):
    """The lines of a message as the stderr format writes them: severity line, its
    TAB-continued lines, then the auxiliary lines."""
    out = []
    first, *more = r["message"].split("\n")
    out.append((r["error_severity"], first, ["\t" + m for m in more]))
    for key, word in AUX:
        if r[key]:
            a, *am = r[key].split("\n")
            out.append((word, a, ["\t" + m for m in am]))
    return out


def heroku(recs):
    seq, lines, drain, foreign = {}, [], [], 0
    for i, r in enumerate(recs):
        t = when(r)
        pid = r["process_id"]
        seq[pid] = seq.get(pid, 0) + 1
        k = 0
        for sev, first, conts in message_lines(r):
            for text in [f"sql_error_code = {r['sql_state_code']} {sev}:  {first}"] + conts:
                k += 1
                lines.append(f"{iso(t)} app[postgres.{pid}]: [DATABASE] [{seq[pid]}-{k}] {text}")
                body = f"<134>1 {iso(t)} host app postgres.{pid} - [{seq[pid]}-{k}] [HEROKU_POSTGRESQL_RED] {text}"
                drain.append(f"{len(body.encode())} {body}")
        if i % 97 == 0:
            sample = (f"{iso(t)} app[heroku-postgres]: source=DATABASE addon=postgresql-shaped-12345 "
                      f"sample#current_transaction={4000 + i} sample#db_size=23456789bytes sample#tables=4 "
                      f"sample#active-connections=3 sample#waiting-connections=0 "
                      f"sample#index-cache-hit-rate=0.99 sample#table-cache-hit-rate=0.98 "
                      f"sample#load-avg-1m=0.02 sample#read-iops=0 sample#write-iops=1.2 "
                      f"sample#tmp-disk-used=543633408 sample#tmp-disk-available=72435159040 "
                      f"sample#memory-total=16085852kB sample#memory-free=5429612kB")
            router = (f"{iso(t)} heroku[router]: at=info method=GET path=\"/\" host=example.herokuapp.com "
                      f"request_id=8601b555 fwd=\"10.0.0.1\" dyno=web.1 connect=0ms service=12ms status=200 bytes=1548")
            lines += [sample, router]
            body = f"<134>1 {iso(t)} host app heroku-postgres - {sample.split(': ', 1)[1]}"
            drain.append(f"{len(body.encode())} {body}")
            foreign += 2
    drain_foreign = sum(1 for d in drain if "heroku-postgres" in d)
    write("testdata/heroku",
          {"postgresql.log": "\n".join(lines) + "\n", "drain.log": "\n".join(drain) + "\n"},
          expected(recs, {"foreign_lines": foreign, "drain_foreign_lines": drain_foreign,
                          "lines": len(lines), "drain_lines": len(drain)}))


def cloudsql(recs):
    entries = []
    for i, r in enumerate(recs):
        t = when(r)
        prefix = (f"{r['log_time']} [{r['process_id']}]: [{r['session_line_num']}-1] "
                  f"db={r['database_name']},user={r['user_name']} ")
        for j, (sev, first, conts) in enumerate(message_lines(r)):
            text = prefix + f"{sev}:  {first}" + "".join("\n" + c for c in conts)
            severity = {"ERROR": "ERROR", "FATAL": "CRITICAL", "PANIC": "EMERGENCY",
                        "WARNING": "WARNING"}.get(r["error_severity"], "INFO")
            entries.append({
                "insertId": f"s={i:08x}{j};i={i};b=0;m=0;t=0;x=0",
                "logName": "projects/demo-project/logs/cloudsql.googleapis.com%2Fpostgres.log",
                "receiveTimestamp": iso(t + datetime.timedelta(seconds=1), 9, "Z"),
                "resource": {"labels": {"database_id": "demo-project:pg-prod", "project_id": "demo-project",
                                        "region": "europe-west1"}, "type": "cloudsql_database"},
                "severity": severity,
                "textPayload": text,
                "timestamp": iso(t + datetime.timedelta(microseconds=j), 6, "Z"),
            })
    audit = {"insertId": "audit1", "logName": "projects/demo-project/logs/cloudaudit.googleapis.com%2Factivity",
             "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                              "methodName": "cloudsql.instances.update", "serviceName": "cloudsql.googleapis.com"},
             "resource": {"labels": {"database_id": "demo-project:pg-prod"}, "type": "cloudsql_database"},
             "severity": "NOTICE", "timestamp": entries[len(entries) // 2]["timestamp"]}
    lines = entries[: len(entries) // 2] + [audit] + entries[len(entries) // 2:]
    jsonl = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in lines)
    array = json.dumps(list(reversed(lines)), indent=2) + "\n"
    write("testdata/cloudsql", {"postgresql.jsonl": jsonl, "export.json": array},
          expected(recs, {"foreign_lines": 1, "log_entries": len(entries)}))


def cloudnativepg(recs):
    out, foreign = [], 0
    for i, r in enumerate(recs):
        t = when(r)
        rec = {k: r[k] for k in COLS if r[k] != "" or k in ("user_name", "database_name")}
        out.append(json.dumps({"level": "info", "ts": iso(t, 6, "Z"), "logger": "postgres", "msg": "record",
                               "logging_pod": "cluster-example-1", "record": rec}, separators=(",", ":")))
        if i % 101 == 0:
            out.append(json.dumps({"level": "info", "ts": iso(t, 6, "Z"), "msg": "Checking for free disk space for WALs",
                                   "logger": "instance-manager", "logging_pod": "cluster-example-1",
                                   "controller": "instance-cluster", "namespace": "default"}, separators=(",", ":")))
            foreign += 1
    write("testdata/cloudnativepg", {"postgresql.json": "\n".join(out) + "\n"},
          expected(recs, {"foreign_lines": foreign}))


def csv_quoted(recs):
    files = {}
    for name, quoting in (("all-quoted.csv", csv.QUOTE_ALL), ("minimal-quotes.csv", csv.QUOTE_MINIMAL)):
        buf = io.StringIO()
        w = csv.writer(buf, quoting=quoting, lineterminator="\n")
        for r in recs:
            w.writerow([r[k] for k in COLS])
        files[name] = buf.getvalue()
    write("testdata/csv_quoted", files, expected(recs, {}))


if __name__ == "__main__":
    recs = records()
    heroku(recs)
    cloudsql(recs)
    cloudnativepg(recs)
    csv_quoted(recs)
    print("wrote testdata/{heroku,cloudsql,cloudnativepg,csv_quoted}")
