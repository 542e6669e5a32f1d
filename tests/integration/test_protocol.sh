#!/usr/bin/env bash
# Protocol completeness: protocol_client's checks (COPY in every format and CopyFail,
# CancelRequest, LISTEN/NOTIFY, notices, ParameterStatus, FunctionCall, portal suspension,
# Describe/Close, the empty query, a 200 MB message, start-up options, GSSENCRequest,
# NegotiateProtocolVersion, deep pipelines) pass against PostgreSQL directly and the same through
# foreshard; a replication connection is refused by foreshard with a clear error; after an
# extended-protocol COPY the proxy sees the connection idle (a PAUSE of everything drains);
# the proxy stays up and every client connection is closed at the end.
source "$(dirname "$0")/lib.sh"

CLIENT=$FS_BUILD/tests/protocol_client

start_pg
start_foreshard

echo "protocol checks against PostgreSQL itself"
timeout 300 "$CLIENT" "$PGHOST_TCP" "$PGPORT_DB" direct || fail "protocol_client fails against PostgreSQL itself"
echo "the same checks through foreshard (2 workers)"
timeout 300 "$CLIENT" 127.0.0.1 "$FS_PORT" proxy || fail "protocol_client fails through foreshard"

echo "cancel requests reach the server whichever worker takes them"
for _ in 1 2 3 4; do
	timeout 60 "$CLIENT" 127.0.0.1 "$FS_PORT" proxy cancel >/dev/null || fail "cancel through foreshard"
done

echo "after an extended-protocol COPY the connection is idle to the proxy"
mkfifo "$TEST_DIR/hold.in"
timeout 60 "$CLIENT" 127.0.0.1 "$FS_PORT" proxy copyhold <"$TEST_DIR/hold.in" >"$TEST_DIR/hold.out" 2>&1 &
hold=$!
exec 3>"$TEST_DIR/hold.in"
for _ in $(seq 1 100); do grep -q idle "$TEST_DIR/hold.out" && break; sleep 0.1; done
grep -q idle "$TEST_DIR/hold.out" || fail "copyhold did not get going: $(cat "$TEST_DIR/hold.out")"
state=""
for _ in $(seq 1 30); do
	state=$(console -c 'SHOW CLIENTS' || true)
	echo "$state" | grep -q '|idle|' && break
	sleep 0.2
done
echo "$state" | grep -q '|idle|' || fail "the connection is not idle after COPY: $state"
console -c 'PAUSE' >"$TEST_DIR/pause.out" 2>&1 || fail "PAUSE did not drain after COPY: $(cat "$TEST_DIR/pause.out")"
console -c 'RESUME' >/dev/null || fail "RESUME"
exec 3>&-
wait "$hold" || fail "copyhold failed: $(cat "$TEST_DIR/hold.out")"

echo "the proxy stayed up and closed every client connection"
kill -0 "$FS_PID" || fail "foreshard died"
for _ in $(seq 1 50); do [ "$(stat clients_active)" = 0 ] && break; sleep 0.1; done
[ "$(stat clients_active)" = 0 ] || fail "client connections left open: $(stat clients_active)"
[ "$(stat clients_total)" -gt 20 ] || fail "connections not counted: $(stat clients_total)"
stop_foreshard
echo "ok"
