#!/usr/bin/env python3
"""Runs a command and reports its peak resident memory split into anonymous memory
and file pages (the mapped log's page cache), sampled from /proc/PID/status.

/usr/bin/time -v's "Maximum resident set size" counts both; issue 14's memory target
counts anonymous memory only. Sampling misses peaks shorter than the interval, so
the kernel's own peak (VmHWM, anonymous + file) is printed beside it.

Usage: python3 scripts/bench/peak_anon.py [--every SECONDS] -- CMD ARGS...
"""
import subprocess
import sys
import time


def status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    out[k] = int(v.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return out


def main():
    args = sys.argv[1:]
    every = 0.02
    if args and args[0] == "--every":
        every = float(args[1])
        args = args[2:]
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    start = time.monotonic()
    p = subprocess.Popen(args)
    peak = {"RssAnon": 0, "RssFile": 0, "VmHWM": 0}
    samples = 0
    while p.poll() is None:
        s = status(p.pid)
        if s:
            samples += 1
            for k in peak:
                peak[k] = max(peak[k], s.get(k, 0))
        time.sleep(every)
    wall = time.monotonic() - start
    print(
        f"peak anonymous {peak['RssAnon'] / 1024:.1f} MB, peak file pages "
        f"{peak['RssFile'] / 1024:.1f} MB, VmHWM (both) {peak['VmHWM'] / 1024:.1f} MB; "
        f"{samples} samples over {wall:.2f} s; exit {p.returncode}",
        file=sys.stderr,
    )
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
