#!/usr/bin/env bash
# foreshard under valgrind (memcheck): connections that end abruptly on either side, at every
# stage, must leak nothing and touch no freed or uninitialised memory.
#
#   bash tools/valgrind.sh [BUILD_DIR]     (default build/, a Debug build)
#
# Starts a throwaway PostgreSQL 15 with TLS on, and foreshard under valgrind with TLS offered to
# clients and used towards the server, then: connect-per-transaction pgbench in plain text and
# in TLS; clients killed with SIGKILL mid-query, mid-handshake, mid-start-up and while a PAUSE
# holds their statement; sessions whose backend PostgreSQL terminates mid-query; cancel
# requests; garbage instead of a start-up packet. Then SIGTERM, and valgrind's verdict: the
# script fails on any memory error or on memory definitely or indirectly lost.
set -euo pipefail

FS_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REAL_BUILD=$(cd "${1:-$FS_SRC/build}" && pwd)
[ -x "$REAL_BUILD/foreshard" ] || { echo "valgrind.sh: $REAL_BUILD/foreshard not built" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not installed" >&2; exit 2; }
source "$FS_SRC/tests/integration/lib.sh"

# lib.sh starts $FS_BUILD/foreshard: point it at a wrapper that runs the real one under valgrind
FS_BUILD=$TEST_DIR/vg
mkdir -p "$FS_BUILD/tests"
ln -s "$REAL_BUILD/tests/protocol_client" "$FS_BUILD/tests/protocol_client"
cat >"$FS_BUILD/foreshard" <<SH
#!/bin/sh
exec valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes \
	--log-file="$TEST_DIR/valgrind.log" "$REAL_BUILD/foreshard" "\$@"
SH
chmod +x "$FS_BUILD/foreshard"

start_pg
bash "$FS_SRC/tools/certs.sh" "$TEST_DIR/certs"
cp "$TEST_DIR/certs/server.crt" "$TEST_DIR/certs/server.key" "$TEST_DIR/pg/data/"
[ "$(id -u)" -ne 0 ] || chown postgres: "$TEST_DIR/pg/data/server.crt" "$TEST_DIR/pg/data/server.key"
db -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >/dev/null
pgbench -i -q -s 1 -h "$PGHOST_TCP" -p "$PGPORT_DB" -U foreshard foreshard >/dev/null 2>&1

start_foreshard --set client_tls_sslmode=prefer --set "client_tls_cert_file=$TEST_DIR/certs/proxy.crt" \
	--set "client_tls_key_file=$TEST_DIR/certs/proxy.key" --set server_tls_sslmode=prefer
echo "foreshard runs under valgrind (pid $FS_PID)"

echo "connect-per-transaction pgbench, plain and TLS"
pgbench -n -C -S -T 5 -c 4 -j 2 -h 127.0.0.1 -p "$FS_PORT" -U foreshard foreshard >/dev/null 2>&1 ||
	fail "plain pgbench -C through foreshard"
PGSSLMODE=require pgbench -n -C -S -T 5 -c 4 -j 2 -h 127.0.0.1 -p "$FS_PORT" -U foreshard foreshard \
	>/dev/null 2>&1 || fail "TLS pgbench -C through foreshard"

echo "clients killed mid-query, in plain text and in TLS"
for mode in disable require; do
	psql "host=127.0.0.1 port=$FS_PORT dbname=foreshard user=foreshard sslmode=$mode" \
		-c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
	victim=$!
	sleep 1.5
	kill -9 "$victim"
	wait "$victim" 2>/dev/null || true
done

echo "clients gone mid-handshake and mid-start-up, and garbage"
python3 - "$FS_PORT" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port))
    return s
s = conn(); s.sendall(struct.pack("!ii", 8, 80877103)); s.recv(1); s.sendall(b"\x16\x03\x01"); s.close()
s = conn(); s.sendall(struct.pack("!ii", 8, 80877103)); s.close()
s = conn(); s.sendall(struct.pack("!ii", 40, 196608) + b"user\0fore"); s.close()
s = conn(); s.sendall(b"GET / HTTP/1.0\r\n\r\n"); s.recv(100); s.close()
s = conn(); s.sendall(struct.pack("!ii", 8, 80877104)); s.recv(1); s.close()
PY

echo "sessions whose backend is terminated mid-query"
fsql -c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
victim=$!
PGSSLMODE=require fsql -c "SELECT pg_sleep(31)" >/dev/null 2>&1 &
victim2=$!
sleep 2
db -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(3%'" >/dev/null
wait "$victim" 2>/dev/null && fail "a terminated session succeeded"
wait "$victim2" 2>/dev/null && fail "a terminated TLS session succeeded"

echo "cancel requests"
timeout 120 "$FS_BUILD/tests/protocol_client" 127.0.0.1 "$FS_PORT" proxy cancel >/dev/null ||
	fail "cancel through foreshard"

echo "a client killed while a PAUSE holds its statement"
console -c 'PAUSE' >/dev/null
fsql -c "SELECT 1" >/dev/null 2>&1 &
victim=$!
sleep 1.5
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
console -c 'RESUME' >/dev/null
[ "$(fsql -At -c 'SELECT 1')" = 1 ] || fail "not serving after the pause"

echo "SIGTERM and valgrind's verdict"
kill -TERM "$FS_PID"
rc=0
wait "$FS_PID" || rc=$?
PIDS=()
if [ "$rc" -ne 0 ] || [ -s "$TEST_DIR/valgrind.log" ]; then
	cat "$TEST_DIR/valgrind.log" >&2
	fail "valgrind: exit status $rc (99: memory errors or leaks, listed above)"
fi
echo "valgrind: no memory errors, nothing lost"
