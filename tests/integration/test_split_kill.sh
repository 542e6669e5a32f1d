#!/usr/bin/env bash
# kill -9 of the daemon at every step of an online split. For each fault point the daemon runs
# with FORESHARD_FAULT naming the step, plans and applies a split, and must die by SIGKILL right
# after that step committed; started again without the fault, it must resume or roll back from
# its journal. Writers run straight against PostgreSQL the whole time (the proxy dies with the
# daemon), and afterwards the table must equal its mirror, with no shadow or trigger left over.
source "$(dirname "$0")/lib.sh"

start_pg
setup_events
"$LOADGEN" --dsn "host=$PGHOST_TCP port=$PGPORT_DB dbname=foreshard user=foreshard" \
	--clients 2 --duration 600 --base-rps 100 --peak-rps 0 --keys 100000 --write-ratio 0.8 \
	>"$TEST_DIR/writers.json" 2>"$TEST_DIR/writers.err" &
writers=$!
PIDS+=("$writers")

opts=(--set mode=auto --set window_ms=500 --set season_windows=4 --set horizon_windows=4
	--set split_threshold_rps=40 --set hysteresis_s=3600 --set tables=public.events
	--set cleanup_grace_s=1 --set backfill_chunk_rows=20)
# Each round heats a fresh 2,000-key range that lies wholly inside one partition whether the
# earlier rounds rolled forward or back (the table starts as [0, 50000) and [50000, 100000), and
# a split lands near the middle of the hot range), so every round sees the full load on one
# partition instead of a share of it on a piece left by an earlier split.
steps=(PLANNED SHADOW CAPTURE BACKFILL_CHUNK VERIFY CUT_OVER)
hot=(60000 80000 95000 10000 30000 45000)
before=$(partitions)
for i in "${!steps[@]}"; do
	step=${steps[$i]}
	echo "fault after $step (hot keys ${hot[$i]}..$((hot[i] + 2000)))"
	# load through the proxy so the forecast crosses the threshold on one partition
	FORESHARD_FAULT=$step start_foreshard "${opts[@]}"
	"$LOADGEN" --dsn "host=127.0.0.1 port=$FS_PORT dbname=foreshard user=foreshard" \
		--clients 2 --duration 30 --cycle 2 --base-rps 20 --peak-rps 200 --keys 100000 \
		--hot-lo "${hot[$i]}" --hot-hi "$((hot[i] + 2000))" --write-ratio 0 \
		>/dev/null 2>"$TEST_DIR/load.err" &
	load=$!
	for _ in $(seq 1 300); do
		kill -0 "$FS_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$FS_PID" 2>/dev/null &&
		fail "foreshard did not reach fault point $step; plans: $(console -c 'SHOW PLANS');" \
			"profile: $(console -c 'SHOW PROFILE public.events'); load: $(tail -3 "$TEST_DIR/load.err")"
	wait "$FS_PID" && rc=0 || rc=$?
	[ "$rc" = 137 ] || fail "foreshard exited with $rc at $step, expected SIGKILL (137)"
	kill "$load" 2>/dev/null || true
	wait "$load" || true
	echo "restart without the fault: recovery resumes or rolls back"
	start_foreshard --set mode=observe --set tables=public.events --set cleanup_grace_s=1
	for _ in $(seq 1 100); do
		open=$(db -At -c "SELECT count(*) FROM foreshard.journal WHERE state NOT IN ('CLEANED', 'ROLLED_BACK', 'FAILED')")
		[ "$open" = 0 ] && break
		sleep 0.2
	done
	[ "$open" = 0 ] || fail "journal still has $open unfinished operations after recovery: $(db -At -c 'TABLE foreshard.journal')"
	stop_foreshard
	left=$(db -At -c "SELECT count(*) FROM pg_class WHERE relname ~ '_fs(old)?[0-9]+' AND relkind = 'r'
		AND NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = pg_class.oid)")
	[ "$left" = 0 ] || fail "$left shadow or old tables left after recovery at $step"
	trg=$(db -At -c "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname ~ '^fs_(capture|truncate)_'")
	[ "$trg" = 0 ] || fail "$trg capture triggers left after recovery at $step"
done
kill -INT "$writers"
wait "$writers" || true
errors=$(grep -o '"errors": *[0-9]*' "$TEST_DIR/writers.json" | grep -o '[0-9]*$')
[ "$errors" = 0 ] || fail "direct writers saw $errors errors: $(head -3 "$TEST_DIR/writers.err")"
[ "$(mirror_diff)" = 0 ] || fail "events differs from its mirror in $(mirror_diff) rows"
echo "partitions: $before before, $(partitions) after"
[ "$(partitions)" -gt "$before" ] || fail "no split completed in any round"
echo "ok"
