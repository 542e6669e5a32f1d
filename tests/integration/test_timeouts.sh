#!/usr/bin/env bash
# Timeouts, checked by what a client sees: server_connect_timeout turns a server that accepts the
# connection but never answers into a clear error instead of a hang; client_login_timeout closes
# clients that connect and never finish their start-up, saying why; client_idle_timeout closes a
# session that stays idle past it and leaves a busy one alone; query_wait_timeout ends a
# statement held by a PAUSE that outlives it, and statements run again after RESUME.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import psycopg2' 2>/dev/null || fail "python3-psycopg2 is not installed (tools/deps.sh installs it)"

start_pg

# Python helper shared by the raw-socket checks below (imported through PYTHONPATH).
cat >"$TEST_DIR/rawpg.py" <<'PY'
def read_until_close(sock):
    """Everything the peer sends until it closes the connection."""
    got = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return got
        got += chunk
PY

echo "server_connect_timeout: a server that accepts and never answers"
SILENT_PORT=$(free_port "$PGPORT_DB")
"$PY" - "$SILENT_PORT" <<'PY' &
import socket
import sys

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(64)
held = []
while True:
    conn, _ = srv.accept()
    held.append(conn)
PY
silent=$!
PIDS+=("$silent")
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$SILENT_PORT") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/127.0.0.1/$SILENT_PORT") 2>/dev/null || fail "the silent server did not start listening"
start_foreshard --set server_port="$SILENT_PORT" --set server_connect_timeout=1
rc=0
timeout 20 psql -X "host=127.0.0.1 port=$FS_PORT user=foreshard dbname=foreshard connect_timeout=0" \
	-c "SELECT 1" 2>"$TEST_DIR/err" >/dev/null || rc=$?
[ "$rc" != 124 ] || fail "the client still waits 20 s after connecting (server_connect_timeout = 1)"
[ "$rc" != 0 ] || fail "a client got a session from a server that never answers"
grep -q "server_connect_timeout" "$TEST_DIR/err" || fail "the error does not name server_connect_timeout: $(cat "$TEST_DIR/err")"
kill -0 "$FS_PID" 2>/dev/null || fail "foreshard died"
stop_foreshard
kill "$silent"
wait "$silent" 2>/dev/null || true

echo "client_login_timeout: a client that connects and never logs in is closed with a reason"
start_foreshard --set client_login_timeout=1
PYTHONPATH=$TEST_DIR "$PY" - "$FS_PORT" >"$TEST_DIR/login.out" 2>&1 <<'PY' || fail "client_login_timeout: $(cat "$TEST_DIR/login.out")"
import socket
import struct
import sys

from rawpg import read_until_close

port = int(sys.argv[1])
# one client sends nothing at all, one stops halfway through its start-up packet
silent = socket.create_connection(("127.0.0.1", port))
half = socket.create_connection(("127.0.0.1", port))
half.sendall(struct.pack("!ii", 40, 196608) + b"user\0fore")
for s in (silent, half):
    s.settimeout(15)
    got = read_until_close(s)
    if not (got.startswith(b"E") and b"57014" in got and b"client_login_timeout" in got):
        sys.exit("closed without the expected error: %r" % got)
print("both closed with the error")
PY
[ "$(fsql -At -c 'SELECT 1')" = 1 ] || fail "a client that logs in at once was refused"
stop_foreshard

echo "client_idle_timeout: an idle session is closed, a busy one is not"
start_foreshard --set client_idle_timeout=1
cat >"$TEST_DIR/idle.py" <<'PY'
import socket
import struct
import sys
import time

import psycopg2
from rawpg import read_until_close

dsn, port = sys.argv[1], int(sys.argv[2])
idle = psycopg2.connect(dsn)
idle.autocommit = True
busy = psycopg2.connect(dsn)
busy.autocommit = True
idle.cursor().execute("SELECT 1")
# a raw idle session too, to read what foreshard sends when it closes one (libpq does not say)
raw = socket.create_connection(("127.0.0.1", port), timeout=10)
body = struct.pack("!i", 196608) + b"user\0foreshard\0database\0foreshard\0\0"
raw.sendall(struct.pack("!i", len(body) + 4) + body)
cur = busy.cursor()
# a statement every 0.3 s for 3 s: never idle for a whole second
for i in range(10):
    cur.execute("SELECT %s", (i,))
    assert cur.fetchone()[0] == i
    time.sleep(0.3)
try:
    idle.cursor().execute("SELECT 1")
except psycopg2.Error as e:
    print("idle session ended:", " ".join(str(e).split()))
else:
    print("the idle session still works after idling 3 s")
    sys.exit(1)
got = read_until_close(raw)
print("raw session got:", got[-200:])
cur.execute("SELECT 'busy ok'")
print(cur.fetchone()[0])
PY
PYTHONPATH=$TEST_DIR "$PY" "$TEST_DIR/idle.py" "host=127.0.0.1 port=$FS_PORT dbname=foreshard user=foreshard" "$FS_PORT" >"$TEST_DIR/idle.out" 2>&1 ||
	fail "client_idle_timeout: $(cat "$TEST_DIR/idle.out")"
grep -q "^idle session ended:.*\(client_idle_timeout\|closed\)" "$TEST_DIR/idle.out" ||
	fail "the idle session ended without saying why: $(cat "$TEST_DIR/idle.out")"
grep -q "^raw session got:.*client_idle_timeout" "$TEST_DIR/idle.out" ||
	fail "no error naming client_idle_timeout before the close: $(cat "$TEST_DIR/idle.out")"
grep -qx "busy ok" "$TEST_DIR/idle.out" || fail "the busy session did not go on: $(cat "$TEST_DIR/idle.out")"
stop_foreshard

echo "query_wait_timeout: a statement held longer than it fails; after RESUME statements run"
start_foreshard --set query_wait_timeout=1 --set pause_timeout_ms=10000
[ "$(fsql -At -c 'SELECT 1')" = 1 ] || fail "not serving before the pause"
console -c 'PAUSE' >/dev/null || fail "console PAUSE failed"
rc=0
timeout 20 psql -X "host=127.0.0.1 port=$FS_PORT user=foreshard dbname=foreshard" -c "SELECT 1" \
	>/dev/null 2>"$TEST_DIR/err" || rc=$?
[ "$rc" != 124 ] || fail "the held statement still waits 20 s into the pause (query_wait_timeout = 1)"
[ "$rc" != 0 ] || fail "a statement ran during PAUSE"
grep -q "query_wait_timeout" "$TEST_DIR/err" || fail "the error does not name query_wait_timeout: $(cat "$TEST_DIR/err")"
[ "$(stat held_now)" = 0 ] || fail "held_now is $(stat held_now) after the held statement timed out"
console -c 'RESUME' >/dev/null || fail "console RESUME failed"
[ "$(fsql -At -c 'SELECT 1')" = 1 ] || fail "statements do not run after RESUME"
stop_foreshard
echo "ok"
