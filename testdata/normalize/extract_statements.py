#!/usr/bin/env python3
"""Extract the SQL text of every `duration: ... statement:` / `execute <name>:` entry of
PostgreSQL stderr logs, NUL-separated, for the normalizer bench.

    python3 extract_statements.py LOG... > statements.sql0

A statement continues on the following lines that start with a TAB (how PostgreSQL
writes the continuation of a multi-line message to stderr).
"""
import re
import sys

HEAD = re.compile(rb"duration: [0-9.]+ ms  (?:statement|execute [^:]*): (.*)$")


def statements(path):
    cur = None
    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if cur is not None and line.startswith(b"\t"):
                cur.append(line[1:])
                continue
            if cur is not None:
                yield b"\n".join(cur)
                cur = None
            m = HEAD.search(line)
            if m:
                cur = [m.group(1)]
    if cur is not None:
        yield b"\n".join(cur)


def main():
    out = sys.stdout.buffer
    for path in sys.argv[1:]:
        for s in statements(path):
            out.write(s + b"\0")


if __name__ == "__main__":
    main()
