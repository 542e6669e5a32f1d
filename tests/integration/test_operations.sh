#!/usr/bin/env bash
# Operating foreshard: max_client_conn refuses one client too many with a clear error; SIGHUP
# reloads the configuration (a broken file changes nothing; log_level and mode apply at once;
# other keys are named as needing a restart); SIGTERM stops accepting and waits for sessions to
# end; SIGINT stops at once; bad configuration stops the start with file:line; clients are
# spread evenly over the workers.
source "$(dirname "$0")/lib.sh"

start_pg

echo "bad configuration is refused at start with file and line"
printf 'listen_port = 7432\nno_such_key = 1\n' >"$TEST_DIR/bad.ini"
if "$FS_BUILD/foreshard" -c "$TEST_DIR/bad.ini" 2>"$TEST_DIR/err"; then fail "a bad file was accepted"; fi
grep -q "bad.ini:2: unknown key 'no_such_key'" "$TEST_DIR/err" || fail "unclear error: $(cat "$TEST_DIR/err")"

start_foreshard --set max_client_conn=2
echo "max_client_conn: the third client is refused, the first two work"
fsql -c "SELECT pg_sleep(3)" >/dev/null &
s1=$!
fsql -c "SELECT pg_sleep(3)" >/dev/null &
s2=$!
for _ in $(seq 1 50); do [ "$(stat clients_active)" = 2 ] && break; sleep 0.1; done
[ "$(stat clients_active)" = 2 ] || fail "two sessions not connected"
if fsql -c "SELECT 1" 2>"$TEST_DIR/err"; then fail "a third client got in past max_client_conn=2"; fi
grep -q "too many clients" "$TEST_DIR/err" || fail "unclear refusal: $(cat "$TEST_DIR/err")"
wait "$s1" || fail "first session failed"
wait "$s2" || fail "second session failed"
[ "$(fsql -At -c 'SELECT 1')" = 1 ] || fail "a client was refused after the others left"

echo "SIGHUP with a broken file keeps the running configuration"
cp "$TEST_DIR/foreshard.ini" "$TEST_DIR/good.ini"
echo "mode = sideways" >>"$TEST_DIR/foreshard.ini"
kill -HUP "$FS_PID"
sleep 0.5
grep -q "configuration not reloaded" "$TEST_DIR/foreshard.log" || fail "no log line for the refused reload"
[ "$(stat mode)" = observe ] || fail "mode changed by a broken reload: $(stat mode)"
[ "$(fsql -At -c 'SELECT 1')" = 1 ] || fail "not serving after a refused reload"

echo "SIGHUP applies mode and names keys that need a restart"
cp "$TEST_DIR/good.ini" "$TEST_DIR/foreshard.ini"
sed -i 's/^mode = observe/mode = auto/' "$TEST_DIR/foreshard.ini"
echo "listen_port = 1" >>"$TEST_DIR/foreshard.ini"
kill -HUP "$FS_PID"
for _ in $(seq 1 50); do [ "$(stat mode)" = auto ] && break; sleep 0.1; done
[ "$(stat mode)" = auto ] || fail "mode not reloaded: $(stat mode)"
grep -q "listen_port changed; restart foreshard to apply it" "$TEST_DIR/foreshard.log" || fail "no restart notice for listen_port"
[ "$(fsql -At -c 'SELECT 1')" = 1 ] || fail "not serving on the old port after the reload"

echo "SIGTERM: no new clients, running sessions finish, then foreshard exits"
fsql -At -c "SELECT pg_sleep(2), 'finished'" >"$TEST_DIR/long.out" 2>&1 &
long=$!
for _ in $(seq 1 50); do [ "$(stat clients_active)" = 1 ] && break; sleep 0.1; done
kill -TERM "$FS_PID"
sleep 0.3
if fsql -c "SELECT 1" 2>/dev/null; then fail "a new client was accepted while draining"; fi
kill -0 "$FS_PID" 2>/dev/null || fail "foreshard did not wait for the running session"
wait "$long" || fail "the running session failed during the drain: $(cat "$TEST_DIR/long.out")"
grep -q finished "$TEST_DIR/long.out" || fail "the running session lost its result"
for _ in $(seq 1 50); do kill -0 "$FS_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$FS_PID" 2>/dev/null && fail "foreshard still running after its last session ended"
wait "$FS_PID" || fail "foreshard exited with status $? after SIGTERM"

echo "clients are spread evenly over the workers, whichever worker the kernel gives them to"
start_foreshard
sessions=()
for i in $(seq 1 20); do
	fsql -At -c "SELECT pg_sleep(3), 'session $i'" >"$TEST_DIR/spread$i.out" 2>&1 &
	sessions+=($!)
done
for _ in $(seq 1 50); do [ "$(stat clients_active)" = 20 ] && break; sleep 0.1; done
[ "$(stat clients_active)" = 20 ] || fail "20 sessions not connected: $(stat clients_active)"
# SHOW CLIENTS is republished once a second: wait until it lists all 20
for _ in $(seq 1 25); do
	rows=$(console -c 'SHOW CLIENTS')
	[ "$(grep -c . <<<"$rows")" -ge 20 ] && break
	sleep 0.1
done
per_worker=$(awk -F'|' '{ n[$1]++ } END { for (w in n) print w ": " n[w] }' <<<"$rows" | sort)
[ "$per_worker" = "$(printf '0: 10\n1: 10')" ] || fail "clients not spread evenly over 2 workers: $per_worker"
for i in $(seq 1 20); do
	wait "${sessions[$((i - 1))]}" || fail "session $i failed: $(cat "$TEST_DIR/spread$i.out")"
	grep -q "session $i\$" "$TEST_DIR/spread$i.out" || fail "session $i lost its result"
done
stop_foreshard

echo "SIGINT stops at once, even with a client connected"
start_foreshard
fsql -c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
for _ in $(seq 1 50); do [ "$(stat clients_active)" = 1 ] && break; sleep 0.1; done
kill -INT "$FS_PID"
for _ in $(seq 1 50); do kill -0 "$FS_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$FS_PID" 2>/dev/null && fail "foreshard still running 5 s after SIGINT"
wait "$FS_PID" || fail "foreshard exited with status $? after SIGINT"
echo "ok"
