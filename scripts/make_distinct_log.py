#!/usr/bin/env python3
"""Writes a PostgreSQL 15 stderr log of N distinct statements (for memory checks).

Each line is a real `duration: ... statement:` line of testdata/a1_pgbadger (pgBadger's
prefix) with the statement's relation and column varied, so every line is its own
fingerprint: `SELECT c_<i%97>_<i> FROM s<i%13>.tbl_<i> WHERE id = <n>`. Several tokens
vary, so fingerprints stay distinct even under a weak hash. A `--repeat R` makes every
statement run R times (interleaved, one second apart per round).

Usage: make_distinct_log.py N OUT [--repeat R]
Prints the number of lines and their total duration in µs (for expected figures).
"""
import sys


def main():
    args = sys.argv[1:]
    repeat = 1
    if "--repeat" in args:
        k = args.index("--repeat")
        repeat = int(args[k + 1])
        del args[k : k + 2]
    n, out = int(args[0]), args[1]
    lines = 0
    total_us = 0
    with open(out, "w") as f:
        for r in range(repeat):
            for i in range(n):
                sec = (i // 1000 + r * (n // 1000 + 1)) % 86400
                ts = "2026-11-24 %02d:%02d:%02d UTC" % (sec // 3600, sec // 60 % 60, sec % 60)
                us = 1000 + (i * 7919 + r * 104729) % 50000
                total_us += us
                f.write(
                    "%s [%d]: [%d-1] user=app_rw,db=bench,app=pgbench,client=127.0.0.1 "
                    "LOG:  duration: %d.%03d ms  statement: SELECT c_%d_%d FROM s%d.tbl_%d "
                    "WHERE id = %d;\n"
                    % (ts, 25000 + i % 50, i + 1, us // 1000, us % 1000, i % 97, i, i % 13, i, i * 31 + r)
                )
                lines += 1
    print(lines, total_us)


if __name__ == "__main__":
    main()
