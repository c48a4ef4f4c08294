#!/usr/bin/env python3
"""Write DEST/timeline.json for one incident made by make_incidents.sh (stdlib only).

Inputs (environment): NAME, EV (events.tsv: name, iso, epoch ms, detail, relation, parameter,
value), SNAP (snapshots.jsonl: pg_stat_database/bgwriter at each phase end), DEST (holds the
pg_stat_statements.<label>.csv snapshots), STORY, CONCLUSION, CAUSE (JSON: the true cause).

The truth is the script's own record of what it did and the server's own statistics; nothing
here reads the log.  The per-phase pg_stat_statements figures are differences of the cumulative
snapshots; "regressed" lists the statements whose mean execution time grew at least REGRESSION
times (and by at least MIN_DELTA_MS) from the normal to the incident phase, with at least
MIN_CALLS calls in both.
"""
import csv
import json
import os

REGRESSION = 2.0
MIN_CALLS = 5
MIN_DELTA_MS = 1.0
LABELS = ["normal_end", "incident_end", "recovery_end"]
PHASES = ["normal", "incident", "recovery"]


def read_events(path):
    events = []
    for line in open(path):
        name, iso, ms, detail, rel, param, value = line.rstrip("\n").split("\t")
        e = {"event": name, "time": iso, "epoch_ms": int(ms)}
        if detail:
            e["detail"] = detail
        if rel:
            e["relation"] = rel
        if param:
            e["parameter"] = {"name": param, "value": value}
        events.append(e)
    events.sort(key=lambda e: e["epoch_ms"])
    return events


def read_pgss(path):
    rows = {}
    for r in csv.DictReader(open(path)):
        key = (r["queryid"], r["username"], r["dbname"], r["toplevel"])
        rows[key] = r
    return rows


def phase_pgss(dest):
    """Per phase: {key: (query, calls, total_ms)} from the cumulative snapshots."""
    prev = {}
    out = {}
    for label, phase in zip(LABELS, PHASES):
        cur = read_pgss(os.path.join(dest, f"pg_stat_statements.{label}.csv"))
        ph = {}
        for key, r in cur.items():
            calls = int(r["calls"]) - (int(prev[key]["calls"]) if key in prev else 0)
            total = float(r["total_exec_time"]) - (float(prev[key]["total_exec_time"]) if key in prev else 0.0)
            if calls > 0:
                ph[key] = (r["query"], r["username"], calls, total)
        out[phase] = ph
        prev = cur
    return out


def stats(v):
    return {"calls": v[2], "total_ms": round(v[3], 3), "mean_ms": round(v[3] / v[2], 3)}


def per_query(pgss):
    rows = []
    for key, n in pgss["normal"].items():
        if key not in pgss["incident"]:
            continue
        i = pgss["incident"][key]
        if n[2] < MIN_CALLS or i[2] < MIN_CALLS:
            continue
        sn, si = stats(n), stats(i)
        ratio = si["mean_ms"] / sn["mean_ms"] if sn["mean_ms"] > 0 else None
        rows.append({"query": n[0], "username": n[1], "normal": sn, "incident": si,
                     "mean_ratio": round(ratio, 2) if ratio else None})
    rows.sort(key=lambda r: -(r["mean_ratio"] or 0))
    return rows


def main():
    env = os.environ
    dest = env["DEST"]
    events = read_events(env["EV"])
    t = {e["event"]: e for e in events}
    snaps = [json.loads(l) for l in open(env["SNAP"]) if l.strip()]
    keys = [k for k in snaps[0] if k not in ("label", "at")]
    prev = {k: 0 for k in keys}
    counters = {}
    for s, ph in zip(snaps, PHASES):
        counters[ph] = {k: s[k] - prev[k] for k in keys}
        prev = s
    queries = per_query(phase_pgss(dest))
    bounds = [("normal", "workload_start", "incident_start"),
              ("incident", "incident_start", "mitigation_start"),
              ("recovery", "mitigation_start", "workload_end")]
    phases = []
    for name, a, b in bounds:
        phases.append({"name": name, "start": t[a]["time"], "end": t[b]["time"],
                       "start_ms": t[a]["epoch_ms"], "end_ms": t[b]["epoch_ms"],
                       "duration_ms": t[b]["epoch_ms"] - t[a]["epoch_ms"]})
    doc = {
        "scenario": env["NAME"],
        "clock": "UTC wall clock of the host that ran the server (the same clock the log "
                 "timestamps come from); log_timezone = UTC",
        "story": env["STORY"],
        "conclusion": env["CONCLUSION"],
        "cause": json.loads(env["CAUSE"]),
        "phases": phases,
        "events": events,
        "regressed": [q for q in queries if (q["mean_ratio"] or 0) >= REGRESSION
                      and q["incident"]["mean_ms"] - q["normal"]["mean_ms"] >= MIN_DELTA_MS],
        "pgss_normal_vs_incident": queries,
        "server_counters_per_phase": counters,
        "server_counter_snapshots": snaps,
        "notes": f"Times are taken by the script right before each action (an event named *_done "
                 f"or alter_done right after it returned). Phase figures of pg_stat_statements "
                 f"are differences of the cumulative snapshots pg_stat_statements.<phase>_end.csv "
                 f"(taken just before the next phase starts); 'regressed' lists statements with "
                 f">= {MIN_CALLS} calls in both phases whose mean execution time grew >= "
                 f"{REGRESSION}x and by >= {MIN_DELTA_MS} ms. total_exec_time excludes parse/plan, so a relation lock waited "
                 f"for during parse analysis or plan revalidation is not in it. Cumulative "
                 f"statistics are flushed lazily (<= ~1 s).",
    }
    with open(os.path.join(dest, "timeline.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
