#!/usr/bin/env bash
# psycopg2 (Debian's python3-psycopg2) through foreshard: connect, parameters, executemany,
# server-side named cursors fetched in batches, COPY through copy_expert, transactions and
# rollback, errors with the connection usable afterwards, notices, LISTEN/NOTIFY with
# conn.poll(), autocommit. Uses /usr/bin/python3, where the Debian package installs the module.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import psycopg2' 2>/dev/null || fail "python3-psycopg2 is not installed (tools/deps.sh installs it)"

start_pg
start_foreshard

cat >"$TEST_DIR/client.py" <<'PY'
import io
import select
import sys
import time

import psycopg2
import psycopg2.errors
import psycopg2.extensions

dsn = sys.argv[1]
conn = psycopg2.connect(dsn, application_name="psycopg2_test")
cur = conn.cursor()

# parameters, including types psycopg2 adapts itself
cur.execute("SELECT %s::int + %s, %s || 'b', %s, %s", (40, 2, "a", None, [1, 2, 3]))
assert cur.fetchone() == (42, "ab", None, [1, 2, 3])
cur.execute("SHOW application_name")
assert cur.fetchone()[0] == "psycopg2_test"
assert conn.get_parameter_status("application_name") == "psycopg2_test"

# executemany, in a transaction committed explicitly
cur.execute("DROP TABLE IF EXISTS py_t")
cur.execute("CREATE TABLE py_t (k int PRIMARY KEY, v text)")
cur.executemany("INSERT INTO py_t VALUES (%s, %s)", [(i, "v%d" % i) for i in range(1, 1001)])
conn.commit()
cur.execute("SELECT count(*), sum(k) FROM py_t")
assert cur.fetchone() == (1000, 500500)
conn.commit()

# a server-side named cursor fetched itersize rows at a time (DECLARE + FETCH)
named = conn.cursor("py_named")
named.itersize = 37
named.execute("SELECT k FROM py_t ORDER BY k")
seen = [row[0] for row in named]
assert seen == list(range(1, 1001)), len(seen)
named.close()
conn.commit()

# COPY in and out through copy_expert
cur.copy_expert("COPY py_t FROM STDIN WITH (FORMAT csv)",
                io.StringIO("".join("%d,c%d\n" % (i, i) for i in range(2001, 2501))))
out = io.StringIO()
cur.copy_expert("COPY (SELECT k, v FROM py_t WHERE k > 2000 ORDER BY k) TO STDOUT WITH (FORMAT csv)", out)
assert out.getvalue().splitlines()[0] == "2001,c2001" and len(out.getvalue().splitlines()) == 500
conn.commit()

# rollback undoes, commit keeps
cur.execute("DELETE FROM py_t WHERE k <= 100")
conn.rollback()
cur.execute("SELECT count(*) FROM py_t")
assert cur.fetchone()[0] == 1500
conn.commit()

# errors reach the client with their SQLSTATE; the connection stays usable after a rollback
try:
    cur.execute("INSERT INTO py_t VALUES (1, 'duplicate')")
    raise AssertionError("duplicate key accepted")
except psycopg2.errors.UniqueViolation as e:
    assert e.pgcode == "23505"
try:
    cur.execute("SELECT 1")
    raise AssertionError("statement accepted in an aborted transaction")
except psycopg2.errors.InFailedSqlTransaction:
    pass
conn.rollback()
try:
    cur.execute("SELECT 1/0")
    raise AssertionError("division by zero accepted")
except psycopg2.errors.DivisionByZero:
    conn.rollback()
cur.execute("SELECT 'still here'")
assert cur.fetchone()[0] == "still here"
conn.commit()

# notices
del conn.notices[:]
cur.execute("DO $$ BEGIN RAISE NOTICE 'py notice %', 7; END $$")
assert any("py notice 7" in n for n in conn.notices), conn.notices
conn.commit()

# autocommit: each statement commits on its own; LISTEN/NOTIFY between two connections
conn.autocommit = True
listener = psycopg2.connect(dsn)
listener.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
listener.cursor().execute("LISTEN py_chan")
cur.execute("INSERT INTO py_t VALUES (5000, 'autocommitted')")
cur.execute("NOTIFY py_chan, 'hello'")
deadline = time.time() + 5
while not listener.notifies and time.time() < deadline:
    if select.select([listener], [], [], 0.5) != ([], [], []):
        listener.poll()
assert listener.notifies, "notification not delivered"
n = listener.notifies.pop(0)
assert (n.channel, n.payload, n.pid) == ("py_chan", "hello", conn.get_backend_pid()), n
listener.close()
other = psycopg2.connect(dsn)
oc = other.cursor()
oc.execute("SELECT v FROM py_t WHERE k = 5000")
assert oc.fetchone()[0] == "autocommitted"
other.close()

cur.execute("DROP TABLE py_t")
conn.close()
print("psycopg2 ok")
PY

echo "psycopg2 against PostgreSQL itself"
timeout 120 "$PY" "$TEST_DIR/client.py" "host=$PGHOST_TCP port=$PGPORT_DB dbname=foreshard user=foreshard" ||
	fail "psycopg2 client fails against PostgreSQL itself"
echo "psycopg2 through foreshard"
timeout 120 "$PY" "$TEST_DIR/client.py" "host=127.0.0.1 port=$FS_PORT dbname=foreshard user=foreshard" ||
	fail "psycopg2 client fails through foreshard"

for _ in $(seq 1 50); do [ "$(stat clients_active)" = 0 ] && break; sleep 0.1; done
[ "$(stat clients_active)" = 0 ] || fail "client connections left open: $(stat clients_active)"
stop_foreshard
echo "ok"
