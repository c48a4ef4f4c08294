#!/usr/bin/env python3
"""Independent re-implementation of pgferret's fingerprint, from the description in
src/normalize/hash.rs alone. Prints the values pinned by fingerprints_are_pinned in
src/normalize/tests.rs, from token lists written by hand (not by pgferret's lexer).
"""
M = (1 << 64) - 1
def rotl(x, r): return ((x << r) | (x >> (64 - r))) & M
def mix(h, w): return ((rotl(h, 5) ^ w) * 0x517cc1b727220a95) & M
def fp(tokens):
    h = 0x243f6a8885a308d3
    for tag, payload in tokens:
        h = mix(h, ord(tag) | (len(payload) << 8))
        for i in range(0, len(payload), 8):
            h = mix(h, int.from_bytes(payload[i:i+8].ljust(8, b"\0"), "little"))
    h ^= h >> 33; h = (h * 0xff51afd7ed558ccd) & M
    h ^= h >> 33; h = (h * 0xc4ceb9fe1a85ec53) & M
    return "%016x" % (h ^ (h >> 33))
W = lambda s: ("w", s.encode()); O = lambda s: ("o", s.encode()); C = ("c", b""); L = ("l", b"")
print(fp([]))
print(fp([W("select"), C]))
print(fp([W("select"), O("*"), W("from"), W("pgbench_accounts"), W("where"), W("aid"), O("="), C]))
print(fp([W("select"), O("*"), W("from"), W("t"), W("where"), W("id"), W("in"), O("("), C, L, O(")")]))
