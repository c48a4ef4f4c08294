#!/usr/bin/env python3
"""Independent re-implementation of pgferret's fingerprint (version 2), from the
description in src/normalize/hash.rs alone, with the `xxhash` package (PyPI; the C
library by xxHash's author) for XXH3-64. Prints the values pinned by
fingerprints_are_pinned in src/normalize/tests.rs, from token lists written by hand (not
by pgferret's lexer).

    pip install xxhash && python3 testdata/normalize/fingerprint_reference.py
"""
import xxhash


def leb128(n):
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def fp(tokens):
    enc = bytearray()
    for tag, payload in tokens:
        enc += tag.encode()
        if payload is not None:
            # Invalid UTF-8 as the display text shows it: U+FFFD per maximal invalid sequence.
            payload = payload.decode("utf-8", "replace").encode("utf-8")
            enc += leb128(len(payload)) + payload
    return "%016x" % xxhash.xxh3_64_intdigest(bytes(enc), seed=0)


W = lambda s: ("w", s if isinstance(s, bytes) else s.lower().encode())  # unquoted: lower-cased
Q = lambda s: ("w", s.encode())  # quoted identifier: as is, "" already read as "
K = lambda s: ("k", s.encode())  # quoted identifier named like a folded keyword
O = lambda s: ("o", s.encode())
N = lambda s: ("n", s.encode())
C, L, BODY, END = ("c", None), ("l", None), ("q", None), ("Q", None)

CASES = [
    ("", []),
    ("SELECT 1", [W("select"), C]),
    (
        "select * from pgbench_accounts where aid = $1",
        [W("select"), O("*"), W("from"), W("pgbench_accounts"), W("where"), W("aid"), O("="), C],
    ),
    (
        "SELECT * FROM t WHERE id IN (1, 2, 3)",
        [W("select"), O("*"), W("from"), W("t"), W("where"), W("id"), W("in"), O("("), C, L, O(")")],
    ),
    ("select * from tbl_10408", [W("select"), O("*"), W("from"), W("tbl_10408")]),
    ("select * from tbl_10485", [W("select"), O("*"), W("from"), W("tbl_10485")]),
    (
        'SELECT "MyCol", "a""b" FROM shard_00042.Orders ORDER BY 2',
        [W("select"), Q("MyCol"), O(","), Q('a"b'), W("from"), W("shard_00042"), O("."),
         W("orders"), W("order"), W("by"), N("2")],
    ),
    ("select " + "x" * 200, [W("select"), W("x" * 200)]),
    # Over 256 bytes of encoding: pgferret streams it into XXH3 (the same value).
    ("select " + "y" * 1000 + " from t", [W("select"), W("y" * 1000), W("from"), W("t")]),
    (
        "select " + ", ".join("a%d" % i for i in range(100)) + " from t",
        [W("select")] + sum(([W("a%d" % i), O(",")] for i in range(100)), [])[:-1] + [W("from"), W("t")],
    ),
    (
        "DO $$ BEGIN PERFORM 1; END $$",
        [W("do"), BODY, W("begin"), W("perform"), C, O(";"), W("end"), END],
    ),
    # Invalid UTF-8 (written as Rust escapes in tests.rs): one U+FFFD per invalid sequence.
    (r"/\xdb", [O("/"), W(b"\xdb")]),
    (r"select \xc3\xa9\xff\xfe x", [W("select"), W(b"\xc3\xa9\xff\xfe"), W("x")]),
    (r"select \xe2\x82X", [W("select"), W(b"\xe2\x82x")]),
    # "orders" is orders; "select" is not the keyword select.
    ('SELECT "select", "orders" FROM t', [W("select"), K("select"), O(","), Q("orders"), W("from"), W("t")]),
]

for sql, tokens in CASES:
    print(fp(tokens), sql)
