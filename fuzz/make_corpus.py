#!/usr/bin/env python3
"""Builds the fuzz targets' seed corpora from the real logs in ../testdata.

Seeds are small (at most 4 KB: slices of whole lines from several places in each
log), so libFuzzer mutates them quickly. The corpora are not committed:

    python3 fuzz/make_corpus.py            # writes fuzz/corpus/<target>/
"""
import gzip
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(HERE, "..", "testdata")
OUT = os.path.join(HERE, "corpus")
MAX_SEED = 4096
SLICES = 6


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def files(pred):
    for root, _, names in sorted(os.walk(TESTDATA)):
        for n in sorted(names):
            p = os.path.join(root, n)
            if pred(os.path.relpath(p, TESTDATA), n):
                yield p


def slices(data):
    """Up to SLICES pieces of whole lines, from the start and spread over the rest."""
    step = max(1, len(data) // SLICES)
    for i in range(SLICES):
        at = i * step
        if at:
            nl = data.find(b"\n", at)
            if nl < 0:
                break
            at = nl + 1
        piece = data[at:at + MAX_SEED]
        end = piece.rfind(b"\n")
        if end > 0:
            yield piece[:end + 1]


def write(target, seeds):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    n = 0
    for s in seeds:
        name = hashlib.sha1(s).hexdigest()
        with open(os.path.join(d, name), "wb") as f:
            f.write(s)
        n += 1
    print(f"{target}: {n} seeds")


def log_seeds(pred):
    for p in files(pred):
        yield from slices(read(p))


# The prefix inside the syslog logs (their make scripts' log_line_prefix; Heroku's is fixed).
SYSLOG_PREFIXES = {
    "syslog": "%m [%p] %q%u@%d ",
    "syslog_noprefix": "user=%u,db=%d ",
    "heroku": "sql_error_code = %e ",
}


def known_prefix(path):
    """The log_line_prefix a testdata log was written with, from the files beside it
    (meta.json's log_line_prefix, or expected.json's prefix), or None."""
    d = os.path.dirname(path)
    top = os.path.relpath(path, TESTDATA).split(os.sep)[0]
    if top in SYSLOG_PREFIXES:
        return SYSLOG_PREFIXES[top]
    for name, key in (("meta.json", "log_line_prefix"), ("expected.json", "prefix")):
        try:
            with open(os.path.join(d, name)) as f:
                v = json.load(f).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(v, str):
            return v
    return None


def prefixed_seeds(pred):
    """Seeds for the targets given a prefix: the log's prefix, a NUL byte, the log."""
    for p in files(pred):
        prefix = known_prefix(p)
        if prefix is None:
            continue
        for s in slices(read(p)):
            yield prefix.encode() + b"\0" + s


def is_syslog(rel, _):
    return rel.startswith(("syslog", "heroku")) and rel.endswith(".log")


def is_stderr(rel, n):
    return n.endswith(".log") and not is_syslog(rel, n)


def is_csv(_, n):
    return n.endswith((".csv", ".csv.gz")) and not n.startswith("pg_stat")


def is_json(_, n):
    return n.endswith(".json.gz")


def is_wrapped(rel, _):
    return rel.startswith(("cloudsql/postgresql", "cloudnativepg/postgresql", "pgbouncer/pgbouncer"))


def main():
    write("stderr", prefixed_seeds(is_stderr))
    write("syslog", prefixed_seeds(is_syslog))
    write("infer", log_seeds(is_stderr))
    write("csvlog", log_seeds(is_csv))
    write("jsonlog", log_seeds(is_json))
    every = list(log_seeds(lambda r, n: any(f(r, n) for f in
                                            (is_stderr, is_syslog, is_csv, is_json, is_wrapped))))
    write("detect", every)
    write("report", every)
    # chunks: two bytes of chunk size, then the log.
    write("chunks", (bytes([(i * 37) % 256, 0]) + s for i, s in enumerate(every)))
    sql = read(os.path.join(TESTDATA, "normalize", "statements.sql0")).split(b"\0")
    write("normalize", (s for s in sql[:3000] if s and len(s) <= MAX_SEED))


if __name__ == "__main__":
    sys.exit(main())
