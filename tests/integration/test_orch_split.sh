#!/usr/bin/env bash
# Online SPLIT under concurrent writers: the middle partition of a 200k-row table is split while
# four writers insert, update, delete and move rows across it, each change also applied to a
# mirror table in the same transaction. Passes when the table has the two new partitions with
# the right bounds, equals its mirror row for row, the writers saw no error, the journal row is
# CLEANED and nothing of the operation is left behind.
set -uo pipefail
. "$(dirname "$0")/orch_lib.sh"

pg_start
make_tables
writers_start

# small chunks and a pause between them keep the backfill running under the writers' load
"$DRIVER" --dsn "$DSN" --chunk 2000 --sleep-ms 20 split public.t t_p2 150000 \
	>"$WORK/driver.out" 2>"$WORK/driver.err"
rc=$?
sleep 1
writers_stop
cat "$WORK/driver.out"
if [ $rc -ne 0 ]; then
	tail -20 "$WORK/driver.err" >&2
	die "orch_driver exited with $rc"
fi
pass "split reported success"

grep -q "ATTACH scanned" "$WORK/driver.err" && fail "ATTACH PARTITION scanned a new partition"
chunks=$(grep -c "backfill in progress" "$WORK/driver.err")
[ "$chunks" -ge 10 ] || fail "expected a backfill of many chunks, saw $chunks"

op=$(q -c "SELECT max(op_id) FROM foreshard.journal")
want="t_p1 FOR VALUES FROM (MINVALUE) TO ('100000')
t_p2_fs${op}_a FOR VALUES FROM ('100000') TO ('150000')
t_p2_fs${op}_b FOR VALUES FROM ('150000') TO ('200000')
t_p3 FOR VALUES FROM ('200000') TO (MAXVALUE)"
got=$(partitions)
if [ "$got" = "$want" ]; then
	pass "partitions after the split: $(echo "$got" | tr '\n' ';')"
else
	fail "partitions are not as expected:"$'\n'"$got"$'\n'"want:"$'\n'"$want"
fi

# every row sits in the partition its key belongs to (the partition constraints hold)
n=$(q -c "SELECT count(*) FROM t_p2_fs${op}_a WHERE id < 100000 OR id >= 150000")
n2=$(q -c "SELECT count(*) FROM t_p2_fs${op}_b WHERE id < 150000 OR id >= 200000")
[ "$n" = 0 ] && [ "$n2" = 0 ] || fail "rows outside their partition's bounds: $n, $n2"

state=$(q -c "SELECT state FROM foreshard.journal WHERE op_id = $op")
[ "$state" = CLEANED ] || fail "journal row $op is $state, want CLEANED"
grep -q "pauses=1 resumes=1" "$WORK/driver.out" || fail "expected one pause and one resume"

# the catalog the orchestrator publishes shows the new bounds
"$DRIVER" --dsn "$DSN" catalog >"$WORK/catalog.out" 2>/dev/null || fail "catalog listing failed"
grep -q "^part t_p2_fs${op}_a '100000' '150000'$" "$WORK/catalog.out" &&
	grep -q "^part t_p2_fs${op}_b '150000' '200000'$" "$WORK/catalog.out" ||
	fail "catalog does not show the new partitions: $(cat "$WORK/catalog.out")"

check_mirror "after split"
check_no_leftovers "after split"

if [ "$failures" -ne 0 ]; then
	echo "test_orch_split: $failures failure(s)" >&2
	exit 1
fi
echo "test_orch_split: passed"
