#!/usr/bin/env python3
"""A libpq client whose application_name is empty from the start.

psql and pgbench always send a fallback application name ("psql", "pgbench"), so a
session with an empty %a needs a client that sends none: libpq through ctypes.
usage: pq_empty_app.py CONNINFO SQL [SQL ...]   (each SQL is sent as one simple query)
"""
import ctypes
import sys

lib = ctypes.CDLL("libpq.so.5")
lib.PQconnectdb.restype = ctypes.c_void_p
lib.PQconnectdb.argtypes = [ctypes.c_char_p]
lib.PQstatus.argtypes = [ctypes.c_void_p]
lib.PQerrorMessage.restype = ctypes.c_char_p
lib.PQerrorMessage.argtypes = [ctypes.c_void_p]
lib.PQexec.restype = ctypes.c_void_p
lib.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.PQclear.argtypes = [ctypes.c_void_p]
lib.PQfinish.argtypes = [ctypes.c_void_p]

conn = lib.PQconnectdb(sys.argv[1].encode())
if lib.PQstatus(conn) != 0:
    sys.exit("connect: " + lib.PQerrorMessage(conn).decode())
for sql in sys.argv[2:]:
    lib.PQclear(lib.PQexec(conn, sql.encode()))
lib.PQfinish(conn)
