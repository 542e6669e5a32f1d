#!/usr/bin/env bash
# Crash safety of the online SPLIT: for each fault point the orchestrator is killed with SIGKILL
# right after that step commits, while writers keep changing the table and its mirror; a second
# run without the fault must recover the operation (resume it, or roll it back when asked) and
# leave a consistent table: equal to its mirror, split or not split as a whole, no trigger,
# shadow or old table left, journal final. Also: a backfill whose shadow was damaged behind its
# cursor is repaired by VERIFY, an abort requested in the journal is honoured by recovery, a
# pause that does not drain rolls the split back, a connection killed mid-backfill is
# reconnected and the operation finished and reported, and a cutover blocked by a lock is
# retried until the lock goes, or rolled back once the retries run out.
set -uo pipefail
. "$(dirname "$0")/orch_lib.sh"

pg_start

ORIGINAL="t_p1 FOR VALUES FROM (MINVALUE) TO ('100000')
t_p2 FOR VALUES FROM ('100000') TO ('200000')
t_p3 FOR VALUES FROM ('200000') TO (MAXVALUE)"

# split_state OP: "split" when t has the two new partitions of OP in place of t_p2, "original"
# when it has its first three, anything else is inconsistent.
split_state() {
	local got
	got=$(partitions)
	if [ "$got" = "$ORIGINAL" ]; then
		echo original
	elif [ "$got" = "t_p1 FOR VALUES FROM (MINVALUE) TO ('100000')
t_p2_fs$1_a FOR VALUES FROM ('100000') TO ('150000')
t_p2_fs$1_b FOR VALUES FROM ('150000') TO ('200000')
t_p3 FOR VALUES FROM ('200000') TO (MAXVALUE)" ]; then
		echo split
	else
		echo "inconsistent: $(echo "$got" | tr '\n' ';')"
	fi
}

# crash_run FAULT: runs a split that kills itself at FAULT; checks it died by SIGKILL and left
# the journal at the step the fault follows. Sets OP.
crash_run() {
	local fault=$1 want=$2 rc state
	FORESHARD_FAULT=$fault "$DRIVER" --dsn "$DSN" --chunk 3000 split public.t t_p2 150000 \
		>"$WORK/crash.out" 2>"$WORK/crash.err"
	rc=$?
	if [ $rc -ne 137 ]; then
		tail -5 "$WORK/crash.err" >&2
		fail "$fault: orch_driver exited with $rc, want 137 (SIGKILL)"
	fi
	OP=$(q -c "SELECT max(op_id) FROM foreshard.journal")
	state=$(q -c "SELECT state FROM foreshard.journal WHERE op_id = $OP")
	[ "$state" = "$want" ] || fail "$fault: journal row $OP is $state after the crash, want $want"
	[ $rc -eq 137 ] && [ "$state" = "$want" ] && pass "$fault: killed, journal at $state"
}

# recover_run NAME EXPECT: runs the recovery and checks the table ended up EXPECT (split or
# original) and consistent.
recover_run() {
	local name=$1 expect=$2 rc st
	"$DRIVER" --dsn "$DSN" recover >"$WORK/recover.out" 2>"$WORK/recover.err"
	rc=$?
	grep "^result" "$WORK/recover.out"
	if [ $rc -ne 0 ]; then
		tail -10 "$WORK/recover.err" >&2
		fail "$name: recovery exited with $rc"
	fi
	writers_stop
	st=$(split_state "$OP")
	[ "$st" = "$expect" ] || fail "$name: table is $st after recovery, want $expect"
	[ "$st" = "$expect" ] && pass "$name: table $st after recovery"
	check_mirror "$name"
	check_no_leftovers "$name"
}

for case in PLANNED:PLANNED SHADOW:SHADOW CAPTURE:CAPTURE BACKFILL_CHUNK:BACKFILL \
	VERIFY:VERIFY CUT_OVER:CUT_OVER; do
	fault=${case%%:*}
	echo "--- crash after $fault"
	make_tables 100
	writers_start
	crash_run "$fault" "${case##*:}"
	recover_run "$fault" split
done

echo "--- crash in backfill, shadow damaged behind the cursor: VERIFY must repair"
make_tables 100
writers_start
crash_run BACKFILL_CHUNK BACKFILL
q -c "DELETE FROM t_p2_fs${OP}_a WHERE id IN (SELECT id FROM t_p2_fs${OP}_a ORDER BY id LIMIT 5);
	UPDATE t_p2_fs${OP}_a SET v = v + 1 WHERE id IN
		(SELECT id FROM t_p2_fs${OP}_a ORDER BY id OFFSET 100 LIMIT 5);
	INSERT INTO t_p2_fs${OP}_a VALUES (100000, 1, 'stray row absent from the source')
		ON CONFLICT (id) DO UPDATE SET note = 'stray'"
recover_run "damaged shadow" split
msg=$(q -c "SELECT message FROM foreshard.journal WHERE op_id = $OP")
grep -q "chunk(s) differ, repairing" "$WORK/recover.err" ||
	fail "damaged shadow: recovery did not report a repair"
[ "$msg" = "cleaned: old partition dropped" ] || fail "damaged shadow: journal says $msg"

echo "--- crash in backfill, abort requested: recovery must roll back"
make_tables 100
writers_start
crash_run BACKFILL_CHUNK BACKFILL
q -c "UPDATE foreshard.journal SET abort_requested = true, message = 'cancelled by the test'
	WHERE op_id = $OP"
recover_run "abort requested" original
state=$(q -c "SELECT state FROM foreshard.journal WHERE op_id = $OP")
[ "$state" = ROLLED_BACK ] || fail "abort requested: journal row is $state, want ROLLED_BACK"

echo "--- pause that does not drain: the split must roll back"
make_tables 100
writers_start
"$DRIVER" --dsn "$DSN" --chunk 3000 --pause-fail split public.t t_p2 150000 \
	>"$WORK/pause.out" 2>"$WORK/pause.err"
rc=$?
OP=$(q -c "SELECT max(op_id) FROM foreshard.journal")
writers_stop
[ $rc -eq 1 ] || fail "pause-fail: orch_driver exited with $rc, want 1"
grep -q "ok=0 .*clients did not drain" "$WORK/pause.out" ||
	fail "pause-fail: result does not say why: $(grep ^result "$WORK/pause.out")"
st=$(split_state "$OP")
[ "$st" = original ] || fail "pause-fail: table is $st, want original"
check_mirror "pause-fail"
check_no_leftovers "pause-fail"

echo "--- orchestrator's connection killed mid-backfill: reconnect, recover, report"
make_tables 100
writers_start
prev=$(q -c "SELECT coalesce(max(op_id), 0) FROM foreshard.journal")
"$DRIVER" --dsn "$DSN" --chunk 1000 --sleep-ms 50 split public.t t_p2 150000 \
	>"$WORK/kill.out" 2>"$WORK/kill.err" &
dpid=$!
for _ in $(seq 200); do
	[ "$(q -c "SELECT state FROM foreshard.journal WHERE op_id > $prev")" = BACKFILL ] && break
	sleep 0.05
done
killed=$(q -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE application_name = 'foreshard-orchestrator'")
wait $dpid
rc=$?
OP=$(q -c "SELECT max(op_id) FROM foreshard.journal")
writers_stop
[ "$killed" = 1 ] || fail "connection killed: terminated $killed backends, want 1"
[ $rc -eq 0 ] || fail "connection killed: orch_driver exited with $rc: $(grep ^result "$WORK/kill.out")"
grep -q "reconnected" "$WORK/kill.err" || fail "connection killed: no reconnect in the log"
grep -q "^result action=1 ok=1 .*recovered" "$WORK/kill.out" ||
	fail "connection killed: the action's result was not reported after recovery"
st=$(split_state "$OP")
[ "$st" = split ] && pass "connection killed: split finished after reconnecting" ||
	fail "connection killed: table is $st, want split"
check_mirror "connection killed"
check_no_leftovers "connection killed"

echo "--- cutover blocked by a lock for a while: retried until it goes"
make_tables 100
writers_start
q -c "BEGIN" -c "LOCK TABLE ONLY t IN ACCESS SHARE MODE" -c "SELECT pg_sleep(4)" -c "COMMIT" \
	>/dev/null &
lpid=$!
sleep 0.3
"$DRIVER" --dsn "$DSN" --chunk 5000 --lock-timeout-ms 100 split public.t t_p2 150000 \
	>"$WORK/lock.out" 2>"$WORK/lock.err"
rc=$?
wait $lpid
OP=$(q -c "SELECT max(op_id) FROM foreshard.journal")
writers_stop
[ $rc -eq 0 ] || fail "lock held: orch_driver exited with $rc: $(grep ^result "$WORK/lock.out")"
attempts=$(grep -c "cutover attempt" "$WORK/lock.err")
[ "$attempts" -ge 1 ] || fail "lock held: the cutover never had to retry"
pauses=$(sed -n 's/^pauses=\([0-9]*\) resumes=\([0-9]*\)$/\1 \2/p' "$WORK/lock.out")
[ "$pauses" = "$((attempts + 1)) $((attempts + 1))" ] ||
	fail "lock held: pauses and resumes \"$pauses\" do not match $((attempts + 1)) attempts"
st=$(split_state "$OP")
[ "$st" = split ] && pass "lock held: split after $attempts retried cutover(s)" ||
	fail "lock held: table is $st, want split"
check_mirror "lock held"
check_no_leftovers "lock held"

echo "--- cutover blocked by a lock for good: rolled back when the retries run out"
make_tables 100
writers_start
q -c "BEGIN" -c "LOCK TABLE ONLY t IN ACCESS SHARE MODE" -c "SELECT pg_sleep(6)" -c "COMMIT" \
	>/dev/null &
lpid=$!
sleep 0.3
"$DRIVER" --dsn "$DSN" --chunk 5000 --lock-timeout-ms 100 --retries 3 split public.t t_p2 150000 \
	>"$WORK/lock2.out" 2>"$WORK/lock2.err"
rc=$?
OP=$(q -c "SELECT max(op_id) FROM foreshard.journal")
[ $rc -eq 1 ] || fail "lock kept: orch_driver exited with $rc, want 1"
grep -q "^result action=1 ok=0 .*cutover gave up after 3 lock timeouts" "$WORK/lock2.out" ||
	fail "lock kept: result does not say why: $(grep ^result "$WORK/lock2.out")"
wait $lpid
writers_stop
st=$(split_state "$OP")
[ "$st" = original ] && pass "lock kept: rolled back, table as it was" ||
	fail "lock kept: table is $st, want original"
check_mirror "lock kept"
check_no_leftovers "lock kept"

if [ "$failures" -ne 0 ]; then
	echo "test_orch_crash: $failures failure(s)" >&2
	exit 1
fi
echo "test_orch_crash: passed"
