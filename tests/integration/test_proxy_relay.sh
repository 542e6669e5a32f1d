#!/usr/bin/env bash
# The relay: simple queries (several statements in one string), the extended protocol with
# pipelining and an error in the middle, prepared statements, COPY, errors and notices, and
# trust, password, md5 and SCRAM-SHA-256 authentication, all through foreshard exactly as direct;
# and backpressure: a side that reads slowly slows its writer instead of growing foreshard.
source "$(dirname "$0")/lib.sh"

start_pg
start_foreshard

echo "simple protocol, several statements in one string"
out=$(fsql -At -c "CREATE TABLE t1 (k int primary key, v text); INSERT INTO t1 SELECT g, 'v' || g FROM generate_series(1, 1000) g; SELECT count(*), sum(k) FROM t1")
[ "$out" = "1000|500500" ] || fail "multi-statement query returned '$out'"

echo "errors reach the client and the session goes on"
if fsql -c "SELECT * FROM no_such_table" 2>"$TEST_DIR/err"; then fail "query on a missing table succeeded"; fi
grep -q 'relation "no_such_table" does not exist' "$TEST_DIR/err" || fail "error text lost: $(cat "$TEST_DIR/err")"
out=$(fsql -At -c "SELECT 1/0" -c "SELECT 2" 2>&1 || true)
echo "$out" | grep -q "division by zero" || fail "error not relayed: $out"

echo "notices are relayed"
out=$(fsql -c "DO \$\$ BEGIN RAISE NOTICE 'hello from plpgsql'; END \$\$" 2>&1)
echo "$out" | grep -q "hello from plpgsql" || fail "notice lost: $out"

echo "COPY in and out"
seq 1 500 | awk '{ print $1 + 5000 "\tc" $1 }' | fsql -c "COPY t1 FROM STDIN"
[ "$(fsql -At -c 'SELECT count(*) FROM t1')" = "1500" ] || fail "COPY FROM lost rows"
[ "$(fsql -At -c 'COPY (SELECT k FROM t1 WHERE k > 5000) TO STDOUT' | wc -l)" = "500" ] || fail "COPY TO lost rows"

echo "a client that reads slowly: foreshard stops reading the server instead of buffering"
# Backpressure is seen from the kernel: while one side stalls, the socket foreshard reads from the
# other side must keep a full receive queue (foreshard has stopped reading it at 1 MB queued for
# the stalled side). Without backpressure foreshard drains that socket and holds the 64 MB itself.
# (Its memory is not measured: a sanitizer's allocator keeps freed memory.) Each stall lasts
# until the test has seen what it needs and creates file "$TEST_DIR/go", so a slow build (TSan)
# cannot make the stall end before the queue was sampled.
# held_queue FILTER: true when foreshard's sockets matching the ss FILTER come to hold over 16 kB
# unread within 20 s and then keep holding that much at 5 samples over 1 s. (16 kB, not more:
# the kernel grows a socket's receive buffer only while its reader keeps up, which a sanitizer
# build may not.)
queued() {
	ss -Htn state established "$1" | awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { print m }'
}
held_queue() {
	local full=0
	for _ in $(seq 1 200); do
		if [ "$(queued "$1")" -gt 16384 ]; then
			full=1
			break
		fi
		sleep 0.1
	done
	[ $full = 1 ] || return 1
	for _ in $(seq 1 5); do
		sleep 0.2
		[ "$(queued "$1")" -gt 16384 ] || return 1
	done
}
# until_go: waits (up to 60 s) for the test to end a stall.
until_go() {
	for _ in $(seq 1 600); do
		[ -e "$TEST_DIR/go" ] && return
		sleep 0.1
	done
}
copy_sql="COPY (SELECT g, repeat('x', 500) FROM generate_series(1, 130000) g) TO STDOUT"
# the reader stalls once the first row has arrived, and says so
fsql -c "$copy_sql" | (IFS= read -r first; touch "$TEST_DIR/slow.started"; until_go
	{ printf '%s\n' "$first"; cat; } | md5sum) >"$TEST_DIR/slow.md5" &
reader=$!
for _ in $(seq 1 200); do [ -e "$TEST_DIR/slow.started" ] && break; sleep 0.1; done
[ -e "$TEST_DIR/slow.started" ] || fail "COPY TO through foreshard sent no row in 20 s"
held=0
held_queue "( dport = :$PGPORT_DB )" && held=1
touch "$TEST_DIR/go"
[ $held = 1 ] || fail "foreshard kept reading the server while its client did not read"
wait "$reader"
[ "$(cat "$TEST_DIR/slow.md5")" = "$(db -c "$copy_sql" | md5sum)" ] || fail "a slowly read COPY TO arrived different"
rm "$TEST_DIR/go"

echo "a server that reads slowly: foreshard stops reading the client instead of buffering"
# 64 MB of COPY FROM STDIN while the server stops reading: a trigger waits on one row early in
# the stream until table go has a row.
fsql -c "CREATE TABLE slow_in (k int, v text)" -c "CREATE TABLE go ()" -c "CREATE FUNCTION nap() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN
		IF NEW.k = 1000 THEN
			WHILE NOT EXISTS (SELECT FROM go) LOOP PERFORM pg_sleep(0.05); END LOOP;
		END IF;
		RETURN NEW;
	END \$\$" \
	-c "CREATE TRIGGER nap BEFORE INSERT ON slow_in FOR EACH ROW EXECUTE FUNCTION nap()"
seq 1 130000 | awk '{ printf "%d\t%0500d\n", $1, 0 }' | fsql -c "COPY slow_in FROM STDIN" &
writer=$!
stalled=0
for _ in $(seq 1 200); do
	[ "$(db -At -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE 'COPY slow_in%'")" = 1 ] && stalled=1 && break
	sleep 0.1
done
held=0
[ $stalled = 1 ] && held_queue "( sport = :$FS_PORT )" && held=1
db -c "INSERT INTO go DEFAULT VALUES"
[ $stalled = 1 ] || fail "the COPY FROM through foreshard did not reach row 1000 in 20 s"
[ $held = 1 ] || fail "foreshard kept reading the client while its server did not read"
wait "$writer" || fail "the slowly taken COPY FROM failed"
[ "$(fsql -At -c 'SELECT count(*), count(DISTINCT k) FROM slow_in')" = "130000|130000" ] ||
	fail "a slowly taken COPY FROM lost rows"

echo "extended protocol: pipeline with an error in the middle, prepared statements"
"$FS_BUILD/tests/pipeline_client" "host=$PGHOST_TCP port=$PGPORT_DB dbname=foreshard user=foreshard" || fail "pipeline client fails against PostgreSQL itself"
"$FS_BUILD/tests/pipeline_client" "host=127.0.0.1 port=$FS_PORT dbname=foreshard user=foreshard" || fail "pipeline client fails through foreshard"

echo "pgbench simple, extended and prepared"
pgbench -i -q -s 1 -h 127.0.0.1 -p "$FS_PORT" -U foreshard foreshard >/dev/null 2>&1 || fail "pgbench -i through foreshard"
for m in simple extended prepared; do
	pgbench -n -M $m -c 4 -j 2 -t 200 -h 127.0.0.1 -p "$FS_PORT" -U foreshard foreshard >"$TEST_DIR/pgb.$m" 2>&1 || fail "pgbench -M $m: $(tail -5 "$TEST_DIR/pgb.$m")"
	grep -q "number of failed transactions: 0" "$TEST_DIR/pgb.$m" || fail "pgbench -M $m had failures"
done

echo "authentication: md5, scram-sha-256, password"
for u in md5_user:md5pass scram_user:scrampass pw_user:pwpass; do
	out=$(PGUSER=${u%%:*} PGPASSWORD=${u#*:} fsql -At -c "SELECT current_user")
	[ "$out" = "${u%%:*}" ] || fail "login as ${u%%:*} through foreshard gave '$out'"
done
if PGUSER=scram_user PGPASSWORD=wrong fsql -c "SELECT 1" 2>"$TEST_DIR/err"; then fail "wrong password accepted"; fi
grep -q "password authentication failed" "$TEST_DIR/err" || fail "auth error not relayed: $(cat "$TEST_DIR/err")"

echo "the console counts what went through"
for _ in $(seq 1 50); do [ "$(stat clients_active)" = 0 ] && break; sleep 0.1; done
[ "$(stat clients_active)" = 0 ] || fail "client connections left open: $(stat clients_active)"
[ "$(stat queries)" -gt 1000 ] || fail "queries not counted: $(stat queries)"
stop_foreshard
echo "ok"
