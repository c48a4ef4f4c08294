#!/usr/bin/env python3
"""Counts testdata/pgbouncer/pgbouncer.log with plain regular expressions (not pgferret):
the figures the pgbouncer tests compare pgferret's JSON with.

usage: expected.py pgbouncer.log > expected.json

- login_attempts: lines whose message is `login attempt:`;
- login_failures: client (`C-0x`) `closing because:` lines whose reason is a failed login
  (authentication failed, unknown database or user, no room under max_client_conn, the
  server refusing the login: the reasons listed in LOGIN_REASONS);
- closings: `closing because:` lines by side (client/server) and reason, `(age=Ns)` cut;
- messages: WARNING / ERROR / FATAL lines by level and message (the connection part cut,
  hex addresses and digit runs masked);
- pools: per `db/user` of the connection part, its login attempts, login failures,
  and WARNING / ERROR+FATAL lines;
- stats: `stats:` lines, the sums of their xacts/s and queries/s, the max of their wait.
"""
import collections
import json
import re
import sys

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+) \[?(\d+)\]? (LOG|WARNING|ERROR|FATAL|DEBUG|NOISE) (.*)$")
CONN = re.compile(r"^([CS])-0x[0-9a-f]+: ([^/\s]*)/(\S*)@\S+ (.*)$")
LOGIN_REASONS = re.compile(
    r"authentication failed|no such database|no such user|login failed|does not exist"
    r"|no more connections allowed|server login has been failing"
    r"|pgbouncer cannot connect to server|client_login_timeout|not allowed")
STATS = re.compile(r"^stats: (\d+) xacts/s, (\d+) queries/s, .*wait (\d+) us$")


def mask(text):
    return re.sub(r"\d+", "N", re.sub(r"0x[0-9a-fA-F]*", "0x?", text))


def main(path):
    lines = 0
    login_attempts = 0
    login_failures = 0
    closings = collections.Counter()
    messages = collections.Counter()
    stats = {"lines": 0, "sum_xacts_per_s": 0, "sum_queries_per_s": 0, "max_wait_us": 0}
    first = last = None
    pools = collections.defaultdict(collections.Counter)
    with open(path, encoding="utf-8") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            lines += 1
            ts, _pid, level, msg = m.groups()
            first = first or ts
            last = ts
            side = None
            c = CONN.match(msg)
            pool = None
            if c:
                side = "client" if c.group(1) == "C" else "server"
                pool = pools[f"{c.group(2)}/{c.group(3)}"]
                msg = c.group(4)
            if level in ("WARNING", "ERROR", "FATAL"):
                messages[f"{level} {mask(msg)}"] += 1
                if pool is not None:
                    pool["warnings" if level == "WARNING" else "errors"] += 1
            if msg.startswith("login attempt:"):
                login_attempts += 1
                if pool is not None:
                    pool["logins"] += 1
            if msg.startswith("closing because: "):
                reason = re.sub(r" \(age=\d+s\)$", "", msg[len("closing because: "):])
                closings[f"{side} {mask(reason)}"] += 1
                if side == "client" and LOGIN_REASONS.search(reason):
                    login_failures += 1
                    pool["login_failures"] += 1
            s = STATS.match(msg)
            if s:
                stats["lines"] += 1
                stats["sum_xacts_per_s"] += int(s.group(1))
                stats["sum_queries_per_s"] += int(s.group(2))
                stats["max_wait_us"] = max(stats["max_wait_us"], int(s.group(3)))
    out = {
        "lines": lines,
        "first": first,
        "last": last,
        "login_attempts": login_attempts,
        "login_failures": login_failures,
        "closings": dict(sorted(closings.items())),
        "messages": dict(sorted(messages.items())),
        "warnings": sum(v for k, v in messages.items() if k.startswith("WARNING ")),
        "errors": sum(v for k, v in messages.items() if not k.startswith("WARNING ")),
        "stats": stats,
        "pools": {k: dict(sorted(v.items())) for k, v in sorted(pools.items()) if v},
    }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
