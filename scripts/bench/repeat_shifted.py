#!/usr/bin/env python3
"""Writes a stderr log N times over, each copy's `%t`/`%m` timestamps (at line
starts) moved forward past the previous copy's end, so time only moves forward:
a 5 GB log from a 1 GB one in a minute or two (inflate.py renders ~5 MB/s).
Process ids repeat from copy to copy (sessions end long before they come back).

Usage: python3 scripts/bench/repeat_shifted.py IN N OUT
"""
import datetime as dt
import re
import sys

TS = re.compile(rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", re.M)
FMT = "%Y-%m-%d %H:%M:%S"


def span(path):
    with open(path, "rb") as f:
        first = TS.search(f.read(4096)).group(1)
        f.seek(0, 2)
        f.seek(max(0, f.tell() - 65536))
        last = TS.findall(f.read())[-1]
    p = lambda b: dt.datetime.strptime(b.decode(), FMT)
    return p(first), p(last)


def main():
    src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    first, last = span(src)
    step = (last - first) + dt.timedelta(seconds=1)
    with open(out, "wb") as o:
        for k in range(n):
            shift = step * k
            cache = {}

            def sub(m):
                b = m.group(1)
                r = cache.get(b)
                if r is None:
                    r = (dt.datetime.strptime(b.decode(), FMT) + shift).strftime(FMT).encode()
                    if len(cache) > 100000:
                        cache.clear()
                    cache[b] = r
                return r

            with open(src, "rb") as f:
                rest = b""
                while True:
                    block = f.read(64 << 20)
                    if not block:
                        if rest:
                            rest = rest if rest.endswith(b"\n") else rest + b"\n"
                            o.write(rest if k == 0 else TS.sub(sub, rest))
                        break
                    block = rest + block
                    cut = block.rfind(b"\n") + 1
                    rest = block[cut:]
                    o.write(block[:cut] if k == 0 else TS.sub(sub, block[:cut]))


if __name__ == "__main__":
    main()
