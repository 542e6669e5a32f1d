#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into tests/fuzz/corpus/<target>/.

The protocol seeds are the byte sequences libpq and PostgreSQL 15 exchange for the usual
conversations (start-up, simple and extended queries, COPY, errors, console sessions), encoded here from the
protocol's message formats; the parser seeds are the statements of
tests/unit/parser/test_extract.c plus parameterised ones with Bind values. Run it again after
changing the list; libFuzzer only needs the files, not this script.
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def msg(t, body=b""):
    return t.encode() + struct.pack("!I", len(body) + 4) + body


def cstr(s):
    return (s.encode() if isinstance(s, str) else s) + b"\0"


def i16(v):
    return struct.pack("!h", v)


def i32(v):
    return struct.pack("!i", v)


# ---- frontend messages ----
def query(sql):
    return msg("Q", cstr(sql))


def parse(name, sql, oids=()):
    return msg("P", cstr(name) + cstr(sql) + i16(len(oids)) + b"".join(struct.pack("!I", o) for o in oids))


def bind(portal, stmt, fmts, vals, result_fmts=()):
    body = cstr(portal) + cstr(stmt) + i16(len(fmts)) + b"".join(i16(f) for f in fmts)
    body += i16(len(vals))
    for v in vals:
        body += i32(-1) if v is None else i32(len(v)) + v
    body += i16(len(result_fmts)) + b"".join(i16(f) for f in result_fmts)
    return msg("B", body)


def describe(kind, name):
    return msg("D", kind.encode() + cstr(name))


def execute(portal, max_rows=0):
    return msg("E", cstr(portal) + i32(max_rows))


def close(kind, name):
    return msg("C", kind.encode() + cstr(name))


SYNC = msg("S")
FLUSH = msg("H")
TERMINATE = msg("X")

# ---- backend messages ----
AUTH_OK = msg("R", i32(0))


def param_status(k, v):
    return msg("S", cstr(k) + cstr(v))


def rfq(status):
    return msg("Z", status.encode())


def complete(tag):
    return msg("C", cstr(tag))


def row_desc(cols):
    body = i16(len(cols))
    for name, oid in cols:
        body += cstr(name) + struct.pack("!IhIhih", 16384, 1, oid, 8, -1, 0)
    return msg("T", body)


def data_row(vals):
    body = i16(len(vals))
    for v in vals:
        body += i32(-1) if v is None else i32(len(v)) + v
    return msg("D", body)


def error(sev, code, text, extra=()):
    body = b"S" + cstr(sev) + b"V" + cstr(sev) + b"C" + cstr(code) + b"M" + cstr(text)
    for k, v in extra:
        body += k.encode() + cstr(v)
    return msg("E", body + b"\0")


def notice(text):
    return msg("N", b"SNOTICE\0VNOTICE\0C00000\0M" + cstr(text) + b"\0")


# ---- start-up packets ----
def startup(params, version=0x00030000):
    body = struct.pack("!I", version) + b"".join(cstr(k) + cstr(v) for k, v in params) + b"\0"
    return struct.pack("!I", len(body) + 4) + body


SSL_REQUEST = struct.pack("!II", 8, 80877103)
GSSENC_REQUEST = struct.pack("!II", 8, 80877104)


def frontend():
    q = "SELECT * FROM events WHERE id = $1"
    ts = (8766 * 86400 * 1000000).to_bytes(8, "big")
    yield "simple_query", query("SELECT * FROM events WHERE id = 42") + TERMINATE
    yield "simple_multi", query("BEGIN; UPDATE events SET v = 1 WHERE id = 9; COMMIT") + query("SELECT 1")
    yield "extended_text", parse("", q, [20]) + bind("", "", [], [b"42"]) + describe("P", "") + execute("") + SYNC
    yield "extended_binary", parse("", q, [20]) + bind("", "", [1], [(256).to_bytes(8, "big")], [1]) + execute("") + SYNC
    yield "named_ts", (parse("s1", "SELECT * FROM ts_events WHERE ts >= $1 AND ts <= $2", [1184, 1184]) + describe("S", "s1") + SYNC
                       + bind("", "s1", [1, 0], [ts, b"2024-01-02 10:00:00+00"]) + execute("") + close("S", "s1") + SYNC)
    yield "names_like", parse("n", "SELECT * FROM names WHERE name LIKE $1") + bind("", "n", [0], [b"ab%"]) + execute("", 10) + FLUSH + SYNC
    yield "insert_params", (parse("", "INSERT INTO events VALUES ($1, $2), ($3, $4)") + bind("", "", [], [b"7", b"a", b"3", None])
                            + execute("") + SYNC)
    yield "named_portal", parse("st", q) + bind("p1", "st", [], [b"5"]) + execute("p1", 1) + execute("p1", 1) + close("P", "p1") + SYNC
    yield "pipeline", b"".join(parse("", q) + bind("", "", [], [str(i).encode()]) + execute("") for i in range(4)) + SYNC
    yield "copy_in", query("COPY events FROM STDIN") + msg("d", b"1\tx\n2\ty\n") + msg("d", b"3\tz\n") + msg("c") + SYNC
    yield "copy_fail", query("COPY names FROM STDIN") + msg("d", b"a\n") + msg("f", cstr("aborted"))
    yield "function_call", msg("F", struct.pack("!I", 1598) + i16(0) + i16(0) + i16(1)) + SYNC
    yield "large_data", query("SELECT 1") + msg("d", b"x" * 3000) + query("SELECT 2")
    yield "empty_query", query("") + parse("", "") + bind("", "", [], []) + execute("") + SYNC
    yield "bad_length", query("SELECT 1") + b"Q\0\0\0\x02"


def backend():
    hello = AUTH_OK + param_status("server_version", "15.5") + param_status("client_encoding", "UTF8")
    hello += msg("K", i32(4242) + i32(123456789)) + rfq("I")
    yield "startup_reply", hello
    yield "select_rows", (row_desc([("id", 20), ("v", 25)]) + data_row([b"42", b"x"]) + data_row([b"43", None])
                          + complete("SELECT 2") + rfq("I"))
    yield "extended_reply", msg("1") + msg("2") + msg("n") + complete("INSERT 0 5") + rfq("T")
    yield "dml_tags", complete("UPDATE 3") + complete("DELETE 18446744073709551615") + complete("COPY 10") + complete("BEGIN") + rfq("T")
    yield "error", error("ERROR", "42P01", 'relation "nope" does not exist', [("P", "15"), ("F", "parse_relation.c"), ("L", "1392"), ("R", "parserOpenTable")]) + rfq("E")
    yield "suspended", msg("1") + msg("2") + data_row([b"1"]) + msg("s") + data_row([b"2"]) + complete("SELECT 1") + rfq("I")
    yield "empty", msg("I") + rfq("I")
    yield "notice_notify", notice("there is no transaction in progress") + msg("A", i32(77) + cstr("chan") + cstr("payload")) + complete("COMMIT") + rfq("I")
    yield "copy_out", msg("H", b"\0" + i16(1) + i16(0)) + msg("d", b"1\n") + msg("c") + complete("COPY 1") + rfq("I")
    yield "fatal", error("FATAL", "57P01", "terminating connection due to administrator command")


def startups():
    yield "psql", startup([("user", "alice"), ("database", "shop"), ("application_name", "psql"), ("client_encoding", "UTF8")])
    yield "user_only", startup([("user", "bob")])
    yield "replication", startup([("user", "rep"), ("replication", "database"), ("options", "-c geqo=off")])
    yield "ssl_then_startup", SSL_REQUEST + startup([("user", "alice"), ("database", "shop")])
    yield "gssenc", GSSENC_REQUEST
    yield "cancel", struct.pack("!IIII", 16, 80877102, 4242, 123456789)
    yield "protocol2", startup([("user", "old")], 0x00020000)
    yield "minor_version", startup([("user", "u"), ("_pq_.x", "1")], 0x00030002)
    yield "no_terminator", startup([("user", "u")])[:-1]
    yield "bad_length", struct.pack("!II", 4, 0x00030000)


def parser_seeds():
    src = open(os.path.join(HERE, "..", "unit", "parser", "test_extract.c")).read()
    corpus = src[src.index("} corpus[] = {"):src.index("/* Runs the corpus")]
    for i, lit in enumerate(re.findall(r'\{"((?:[^"\\]|\\.)*)",', corpus)):
        yield "extract_%02d" % i, lit.encode().decode("unicode_escape").encode("latin-1")

    def with_params(sql, params):
        tail = b"".join(bytes([flags, len(v)]) + v for flags, v in params)
        return sql.encode() + b"\0" + tail

    yield "param_text", with_params("SELECT * FROM events WHERE id = $1", [(0, b"42")])
    yield "param_binary", with_params("SELECT * FROM events WHERE id IN ($1, $2, $3)",
                                      [(1, (256).to_bytes(8, "big")), (1, b"\xff\xff\xff\xfe"), (1, b"\0\x09")])
    yield "param_ts", with_params("SELECT * FROM ts_events WHERE ts BETWEEN $1 AND $2",
                                  [(0, b"2024-01-01"), (1, (8766 * 86400 * 1000000).to_bytes(8, "big"))])
    yield "param_null", with_params("INSERT INTO names VALUES ($1) ON CONFLICT DO NOTHING", [(2, b"")])
    yield "param_like", with_params("SELECT * FROM names WHERE name LIKE $1", [(0, b"ab%")])
    yield "param_range", with_params("SELECT * FROM events WHERE id >= 10 AND id < $1::bigint", [(0, b"20")])


def console():
    hello = startup([("user", "admin"), ("database", "foreshard"), ("application_name", "psql")])
    yield "show_stats", hello + query("SHOW STATS") + TERMINATE
    yield "commands", hello + query("show help; SHOW PROFILE public.events;pause;RESUME events ; ") + TERMINATE
    yield "errors", hello + query("SET MODE !bad") + query("APPLY 3") + query("SHOW STATS now") + query("frobnicate")
    yield "tag_and_empty", hello + query("PAUSE #PAUSED") + query(" ; ") + query("") + SYNC
    yield "extended_refused", hello + parse("", "SHOW STATS") + bind("", "", [], []) + execute("") + SYNC + query("SHOW CLIENTS")
    yield "function_copy", hello + msg("F", i32(1)) + msg("d", b"x") + msg("c") + FLUSH + query("SHUTDOWN")
    yield "ssl_then_startup", SSL_REQUEST + GSSENC_REQUEST + hello + query("SHOW JOURNAL")
    yield "negotiate", startup([("user", "a"), ("_pq_.compression", "on")], 0x00030001) + query("SHOW TABLES")
    yield "cancel", struct.pack("!IIII", 16, 80877102, 1, 2)
    yield "bad_message", hello + b"Z\0\0\0\x04"


def main():
    for target, gen in (("frontend", frontend), ("backend", backend), ("startup", startups),
                        ("parser", parser_seeds), ("console", console)):
        d = os.path.join(OUT, target)
        os.makedirs(d, exist_ok=True)
        for name, data in gen():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
