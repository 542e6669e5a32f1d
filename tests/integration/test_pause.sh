#!/usr/bin/env bash
# PAUSE and RESUME in the proxy: a new statement on a paused table waits (no error) until RESUME;
# a transaction that already touched the table runs on to its end; other tables are not held;
# the extended protocol is held the same way.
source "$(dirname "$0")/lib.sh"

start_pg
db -c "CREATE TABLE events (id bigint PRIMARY KEY, val bigint) PARTITION BY RANGE (id);
       CREATE TABLE events_p1 PARTITION OF events FOR VALUES FROM (0) TO (1000);
       CREATE TABLE events_p2 PARTITION OF events FOR VALUES FROM (1000) TO (2000);
       INSERT INTO events SELECT g, 0 FROM generate_series(0, 1999) g;
       CREATE TABLE other (k int PRIMARY KEY); INSERT INTO other VALUES (1);"
start_foreshard
for _ in $(seq 1 50); do console -c 'SHOW TABLES' | grep -q events_p2 && break; sleep 0.1; done

echo "a transaction that touched events before the pause runs to its end during it"
(echo "BEGIN; SELECT val FROM events WHERE id = 1;"; sleep 2; echo "UPDATE events SET val = val + 1 WHERE id = 1; COMMIT;") |
	fsql -At >"$TEST_DIR/a.out" 2>&1 &
a=$!
sleep 0.5
console -c 'PAUSE public.events' >/dev/null

echo "a new statement on events waits"
fsql -At -c "SELECT val FROM events WHERE id = 1500" >"$TEST_DIR/b.out" 2>&1 &
b=$!
echo "the same through the extended protocol"
pgbench -n -t 1 -M extended -f <(echo "SELECT val FROM events WHERE id = 1600;") -h 127.0.0.1 -p "$FS_PORT" -U foreshard foreshard >"$TEST_DIR/c.out" 2>&1 &
c=$!
echo "other tables are not held"
[ "$(fsql -At -c 'SELECT k FROM other')" = 1 ] || fail "a statement on an unpaused table was held or failed"

wait "$a" || fail "the open transaction failed during the pause: $(cat "$TEST_DIR/a.out")"
! grep -q ERROR "$TEST_DIR/a.out" || fail "the open transaction failed during the pause: $(cat "$TEST_DIR/a.out")"
kill -0 "$b" 2>/dev/null || fail "a simple query on the paused table was not held: $(cat "$TEST_DIR/b.out")"
kill -0 "$c" 2>/dev/null || fail "an extended query on the paused table was not held: $(cat "$TEST_DIR/c.out")"
[ "$(stat held_now)" = 2 ] || fail "held_now is $(stat held_now), expected 2"

echo "RESUME releases them, with results and no error"
console -c 'RESUME public.events' >/dev/null
wait "$b" || fail "held query failed: $(cat "$TEST_DIR/b.out")"
[ "$(cat "$TEST_DIR/b.out")" = 0 ] || fail "held query returned '$(cat "$TEST_DIR/b.out")'"
wait "$c" || fail "held extended query failed: $(cat "$TEST_DIR/c.out")"
[ "$(stat held_now)" = 0 ] || fail "held_now is $(stat held_now) after RESUME"
[ "$(stat held_total)" -ge 2 ] || fail "held_total is $(stat held_total)"
[ "$(db -At -c 'SELECT val FROM events WHERE id = 1')" = 1 ] || fail "the transaction's update was lost"

echo "a query too big to inspect (over 1 MB) still counts as running"
big=$(head -c 1500000 /dev/zero | tr '\0' x)
printf "SELECT pg_sleep(4), length('%s');\n" "$big" | fsql -At >"$TEST_DIR/big.out" 2>&1 &
bigq=$!
# psql can take seconds to read and send a 1.5 MB line on a loaded machine: wait until the
# server runs it, then give SHOW CLIENTS (republished once a second) 3 s of its 4 s sleep.
for _ in $(seq 1 150); do
	[ "$(db -At -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(4), length(%'")" = 1 ] && break
	sleep 0.1
done
for _ in $(seq 1 30); do console -c 'SHOW CLIENTS' | grep -q '|active|' && break; sleep 0.1; done
console -c 'SHOW CLIENTS' | grep -q '|active|' || fail "a 1.5 MB query in progress shows as idle: $(console -c 'SHOW CLIENTS')"
wait "$bigq" || fail "the big query failed: $(head -c 300 "$TEST_DIR/big.out")"
grep -q '|1500000$' "$TEST_DIR/big.out" || fail "the big query's result is wrong: $(head -c 300 "$TEST_DIR/big.out")"
[ "$(stat oversized_unread)" -ge 1 ] || fail "oversized message not counted"

echo "PAUSE of an unknown table is refused with a clear message"
if console -c 'PAUSE nosuch' 2>"$TEST_DIR/err"; then fail "PAUSE of an unknown table succeeded"; fi
grep -q "not managed by foreshard" "$TEST_DIR/err" || fail "unclear error: $(cat "$TEST_DIR/err")"
stop_foreshard
echo "ok"
