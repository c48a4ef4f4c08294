#!/usr/bin/env python3
"""Seeded SQL workload for the query-id agreement log (see README.md).

Writes psql input to stdout: every statement family is repeated with different literal
values, list lengths, spacing, keyword case and comments, so PostgreSQL's query ids and
pgferret's fingerprints have something to agree (or disagree) about.
"""
import random

R = random.Random(20261124)


def case(s):
    """Re-case keywords and re-space a statement at random (same query for PostgreSQL).
    Spaces inside quotes are kept: they are part of a value or a name."""
    words, cur, quote = [], "", None
    for c in s:
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == " ":
            words.append(cur)
            cur = ""
            continue
        cur += c
    words.append(cur)
    out = []
    for w in words:
        if w.isupper() and w.isalpha():
            w = R.choice([w, w.lower(), w.capitalize()])
        out.append(w)
    sep = R.choice([" ", "  ", "\n  ", "\t"])
    return sep.join(out)


def s(v):
    return "'" + v.replace("'", "''") + "'"


def ints(n):
    return ", ".join(str(R.randint(-50, 100000)) for _ in range(n))


def strs(n):
    return ", ".join(s(R.choice(["a", "b'c", "zé", "x y", "€", ""])) for _ in range(n))


E_STRINGS = ["a\\tb", "it\\'s", "nl\\n"]
DOLLAR = ["dollar", "it's", "$1"]
NAMES = ["o'brien", "plain", "ünï", "tab\tx"]
QR = ["p", "q'r"]

COMMENTS = ["", "/* app:web */ ", "-- note\n", "/* outer /* nested */ */ "]


def families():
    i = R.randint(1, 500)
    yield f"SELECT id, name FROM items WHERE id = {i}"
    yield f"SELECT id, name FROM items WHERE id = -{i}"
    yield f"SELECT name FROM items WHERE id = {i}"
    yield f"SELECT i.name FROM items i WHERE i.id = {i}"
    yield f"SELECT id FROM items WHERE name = {s(R.choice(NAMES))}"
    yield f"SELECT id FROM items WHERE name = E'{R.choice(E_STRINGS)}'"
    yield f"SELECT id FROM items WHERE name = U&'d\\0061t{R.randint(0, 9)}'"
    yield f"SELECT id FROM items WHERE name = $q${R.choice(DOLLAR)}$q$"
    yield f"SELECT id FROM items WHERE name = 'con'\n  'tinued{R.randint(0, 9)}'"
    yield f"SELECT id FROM items WHERE price > {R.randint(1, 99)}.{R.randint(0, 99)} AND price < {R.randint(100, 200)}e0"
    yield f"SELECT id FROM items WHERE price::numeric(10,2) > {R.randint(1, 9)}"
    yield f"SELECT id FROM items WHERE created > now() - interval '{R.randint(1, 30)} days'"
    yield f"SELECT id FROM items WHERE created > '2026-01-{R.randint(10, 28)}'::date"
    yield f"SELECT id FROM items WHERE active = {R.choice(['true', 'false'])}"
    yield "SELECT id FROM items WHERE note IS NULL"
    yield "SELECT id FROM items WHERE note IS NOT NULL"
    yield f"SELECT id FROM items WHERE id IN ({ints(R.randint(1, 30))})"
    yield f"SELECT id FROM items WHERE id NOT IN ({ints(R.randint(1, 12))})"
    yield f"SELECT id FROM items WHERE name IN ({strs(R.randint(1, 8))})"
    yield f"SELECT id FROM items WHERE id = ANY(ARRAY[{ints(R.randint(1, 15))}])"
    yield f"SELECT id FROM items WHERE id = ANY('{{{R.randint(1, 9)},{R.randint(1, 9)}}}'::int[])"
    n = R.randint(1, 8)
    rows = ", ".join(f"({R.randint(1000, 9999)}, {s(R.choice(QR))}, {R.randint(1, 99)}.5)" for _ in range(n))
    yield f"INSERT INTO items (id, name, price) VALUES {rows} ON CONFLICT (id) DO NOTHING"
    yield f"UPDATE items SET price = price * {R.randint(1, 3)}.0{R.randint(1, 9)} WHERE id = {i}"
    yield f"UPDATE items SET note = NULL WHERE id = {i}"
    yield f"SELECT id, price FROM items ORDER BY {R.choice([1, 2])} LIMIT {R.randint(1, 20)}"
    yield f"SELECT id, price FROM items ORDER BY price DESC LIMIT {R.randint(1, 20)} OFFSET {R.randint(0, 5)}"
    yield f"SELECT count(*), sum(price) FROM items WHERE attrs @> '{{\"k\": {R.randint(1, 5)}}}'"
    yield f"SELECT attrs ->> 'k' FROM items WHERE attrs -> 'k' = '{R.randint(1, 5)}'::jsonb"
    yield f"SELECT id, name || '-' || {R.randint(1, 9)} FROM items WHERE id BETWEEN {i} AND {i + 10}"
    yield f"SELECT \"Weird Col\" FROM \"MixedCase\" WHERE \"Weird Col\" = {R.randint(1, 9)}"
    yield f"SELECT count(*) FROM items i JOIN items j ON j.id = i.id + {R.randint(1, 3)} WHERE i.id < {i}"
    yield f"SELECT coalesce(note, 'none'), greatest(price, {R.randint(1, 9)}) FROM items WHERE id = {i}"
    yield f"SELECT CASE WHEN price > {R.randint(1, 50)} THEN 'hi' ELSE 'lo' END FROM items LIMIT 3"
    yield f"DO $$BEGIN PERFORM pg_sleep(0); RAISE DEBUG 'tick {R.randint(1, 9)}'; END$$"
    yield "DO $body$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM items; END $body$"
    yield f"EXECUTE get_item({R.randint(1, 500)})"
    yield f"SET work_mem = '{R.choice([4, 8, 16])}MB'"
    yield "RESET work_mem"


def main():
    print("\\set ON_ERROR_STOP off")
    print("PREPARE get_item (int) AS SELECT id, name FROM items WHERE id = $1;")
    for _ in range(14):
        stmts = list(families())
        R.shuffle(stmts)
        print("BEGIN;" if R.random() < 0.5 else "begin;")
        for st in stmts:
            # PostgreSQL 15 hashes the text of utility statements: keep theirs verbatim.
            utility = st.split(" ")[0] in ("DO", "EXECUTE", "SET", "RESET")
            print(R.choice(COMMENTS) + (st if utility else case(st)) + R.choice([";", " ;"]))
        print("COMMIT;" if R.random() < 0.5 else "commit;")


if __name__ == "__main__":
    main()
