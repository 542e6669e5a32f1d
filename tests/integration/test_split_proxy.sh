#!/usr/bin/env bash
# The whole pipeline through the real daemon: writers and readers go through foreshard, the
# forecast of a periodic hot spot makes the planner propose a split (advise mode), APPLY runs it
# online while the load goes on, and afterwards the clients saw no error and the table equals its
# mirror (every write changed both in one transaction).
source "$(dirname "$0")/lib.sh"

start_pg
setup_events
# short windows and a 2 s season so that a plan comes within seconds
start_foreshard --set mode=advise --set window_ms=500 --set season_windows=4 \
	--set horizon_windows=4 --set split_threshold_rps=80 --set hysteresis_s=3600 \
	--set tables=public.events --set cleanup_grace_s=1
[ "$(partitions)" = 2 ] || fail "setup made $(partitions) partitions"

echo "load through foreshard: background over both partitions, a hot spot in the second"
"$LOADGEN" --dsn "host=127.0.0.1 port=$FS_PORT dbname=foreshard user=foreshard" \
	--clients 4 --duration 25 --cycle 2 --base-rps 100 --peak-rps 300 \
	--keys 100000 --hot-lo 60000 --hot-hi 70000 --write-ratio 0.5 \
	>"$TEST_DIR/load.json" 2>"$TEST_DIR/load.err" &
load=$!
PIDS+=("$load")

echo "the planner proposes a split from the forecast; nothing is applied in advise mode"
id=$(wait_plan proposed 15)
console -c 'SHOW PLANS'
console -c 'SHOW FORECAST public.events' | head -3
[ "$(partitions)" = 2 ] || fail "advise mode changed the table before APPLY"
console -c "APPLY $id" >/dev/null
wait_plan done 20 >/dev/null
console -c 'SHOW JOURNAL'

wait "$load" || fail "loadgen failed: $(cat "$TEST_DIR/load.err")"
errors=$(grep -o '"errors": *[0-9]*' "$TEST_DIR/load.json" | grep -o '[0-9]*$')
[ "$errors" = 0 ] || fail "clients saw $errors errors: $(head -5 "$TEST_DIR/load.err")"
ops=$(grep -o '"ops": *[0-9]*' "$TEST_DIR/load.json" | grep -o '[0-9]*$')
[ "$ops" -gt 1000 ] || fail "only $ops requests ran"
[ "$(partitions)" = 3 ] || fail "expected 3 partitions after the split, found $(partitions)"
[ "$(mirror_diff)" = 0 ] || fail "events differs from its mirror in $(mirror_diff) rows"
dups=$(db -At -c "SELECT count(*) FROM (SELECT id FROM events GROUP BY id HAVING count(*) > 1) d")
[ "$dups" = 0 ] || fail "$dups duplicated ids"
console -c 'SHOW TABLES' | grep -c '^public.events|' | grep -qx 3 || fail "the console's catalog did not follow the split"
echo "APPLY of a finished plan is refused"
if console -c "APPLY $id" 2>"$TEST_DIR/err"; then fail "a finished plan was applied again"; fi
grep -q "not waiting to be applied" "$TEST_DIR/err" || fail "unclear error: $(cat "$TEST_DIR/err")"
stop_foreshard
echo "ok"
