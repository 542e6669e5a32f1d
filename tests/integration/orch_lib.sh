# Shared by the orchestrator's integration scripts (test_orch_*.sh); sourced, not run.
# Provides: a throwaway PostgreSQL (pg_start, stopped by an EXIT trap), q (psql on it), the
# range-partitioned table t with its mirror m (make_tables), concurrent writers that change
# both in the same transactions (writers_start / writers_stop), and the checks every scenario
# ends with (check_mirror, check_no_leftovers, partitions).

FS_BUILD=${FS_BUILD:-/work/main/build-orch}
FS_SRC=${FS_SRC:-/work/main}
DRIVER=$FS_BUILD/tests/orch_driver
# a role named foreshard would otherwise resolve "$user" in search_path to the journal's schema
export PGOPTIONS="-c search_path=public"

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
die() {
	echo "FAIL: $*" >&2
	exit 1
}
pass() {
	echo "ok: $*"
}

[ -x "$DRIVER" ] || die "orch_driver not built: cmake --build $FS_BUILD --target orch_driver"

WORK=$(mktemp -d /tmp/fs_orch_test.XXXXXX)
chmod 755 "$WORK" # the server runs as postgres when we are root
PGDIR=$WORK/pg
PORT=

cleanup() {
	writers_stop >/dev/null 2>&1 || true
	[ -n "$PORT" ] && bash "$FS_SRC/tools/pgtmp.sh" stop "$PGDIR" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

# Starts PostgreSQL on a free port in 56000-56999.
pg_start() {
	local tries
	for tries in 1 2 3 4 5; do
		PORT=$((56000 + RANDOM % 1000))
		if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then
			continue # taken
		fi
		if bash "$FS_SRC/tools/pgtmp.sh" start "$PGDIR" "$PORT" >"$WORK/pgtmp.log" 2>&1; then
			DSN="host=$PGDIR port=$PORT user=foreshard dbname=foreshard"
			return 0
		fi
		bash "$FS_SRC/tools/pgtmp.sh" stop "$PGDIR" >/dev/null 2>&1
	done
	cat "$WORK/pgtmp.log" >&2
	PORT=
	die "cannot start PostgreSQL"
}

q() {
	psql -X -q -At -v ON_ERROR_STOP=1 -h "$PGDIR" -p "$PORT" -U foreshard -d foreshard "$@"
}

# make_tables [THOUSANDS]: t (bigint key, primary key, secondary index, 3 partitions over
# [0, 300000), THOUSANDS thousand rows spread evenly, 200 by default) and its mirror m.
make_tables() {
	q -v per300="${1:-200}" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS t, m CASCADE;
CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, note text) PARTITION BY RANGE (id);
CREATE INDEX t_v_idx ON t (v);
CREATE TABLE t_p1 PARTITION OF t FOR VALUES FROM (MINVALUE) TO (100000);
CREATE TABLE t_p2 PARTITION OF t FOR VALUES FROM (100000) TO (200000);
CREATE TABLE t_p3 PARTITION OF t FOR VALUES FROM (200000) TO (MAXVALUE);
INSERT INTO t SELECT g, g % 1000, 'row ' || g FROM generate_series(0, 299999) g WHERE g % 300 < :per300;
CREATE TABLE m (id bigint PRIMARY KEY, v int NOT NULL, note text);
INSERT INTO m SELECT * FROM t;
ANALYZE t, m;
SQL
}

# writers_start [SCRIPT CLIENTS]: by default 4 pgbench clients on t and m, each on its own
# residue of the key (no conflicts among them, so any error is the orchestrator's doing),
# inserting, updating, deleting and moving rows across partitions (and across the split point)
# in [50000, 250000), table and mirror in one transaction. Runs of 2 s alternate the simple and
# the prepared protocol until writers_stop.
writers_start() {
	local script=${1:-$WORK/writer.sql} clients=${2:-4}
	cat >"$WORK/writer.sql" <<'SQL'
\set r random(0, 49999)
\set id 50000 + :r * 4 + :client_id
\set r2 random(0, 49999)
\set id2 50000 + :r2 * 4 + :client_id
\set v random(1, 1000000)
\set op random(1, 10)
BEGIN;
\if :op <= 3
INSERT INTO t (id, v, note) VALUES (:id, :v, 'i') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, note = EXCLUDED.note;
INSERT INTO m (id, v, note) VALUES (:id, :v, 'i') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, note = EXCLUDED.note;
\elif :op <= 6
UPDATE t SET v = :v, note = 'u' WHERE id = :id;
UPDATE m SET v = :v, note = 'u' WHERE id = :id;
\elif :op <= 8
DELETE FROM t WHERE id = :id;
DELETE FROM m WHERE id = :id;
\else
UPDATE t SET id = :id2, note = 'k' WHERE id = :id AND NOT EXISTS (SELECT 1 FROM t WHERE id = :id2);
UPDATE m SET id = :id2, note = 'k' WHERE id = :id AND NOT EXISTS (SELECT 1 FROM m WHERE id = :id2);
\endif
COMMIT;
SQL
	rm -f "$WORK/writers.stop" "$WORK/writers.failed"
	: >"$WORK/writers.log"
	(
		mode=simple
		while [ ! -f "$WORK/writers.stop" ]; do
			if ! pgbench -n -c "$clients" -j 2 -T 2 -M $mode -f "$script" \
				-h "$PGDIR" -p "$PORT" -U foreshard foreshard >>"$WORK/writers.log" 2>&1; then
				echo "pgbench exited with an error" >>"$WORK/writers.failed"
			fi
			[ $mode = simple ] && mode=prepared || mode=simple
		done
	) &
	WRITERS_PID=$!
	sleep 1
}

# Stops the writers and fails unless they ran without a single error.
writers_stop() {
	[ -n "${WRITERS_PID:-}" ] || return 0
	touch "$WORK/writers.stop"
	wait "$WRITERS_PID" || true
	WRITERS_PID=
	local n
	n=$(grep -h "number of transactions actually processed" "$WORK/writers.log" |
		awk '{ s += $NF } END { print s + 0 }')
	if [ -f "$WORK/writers.failed" ] || grep -qiE "error|abort" "$WORK/writers.log"; then
		grep -iE "error|abort" "$WORK/writers.log" | head -5 >&2
		fail "writers saw errors"
	elif [ "$n" -eq 0 ]; then
		fail "writers processed no transactions"
	else
		pass "writers: $n transactions, no errors"
	fi
}

# (A EXCEPT ALL B) UNION ALL (B EXCEPT ALL A) between t and its mirror must be empty.
check_mirror() {
	local diff
	diff=$(q -c "SELECT count(*) FROM ((SELECT * FROM t EXCEPT ALL SELECT * FROM m)
		UNION ALL (SELECT * FROM m EXCEPT ALL SELECT * FROM t)) d")
	if [ "$diff" = 0 ]; then
		pass "$1: table equals its mirror ($(q -c 'SELECT count(*) FROM t') rows)"
	else
		fail "$1: table and mirror differ in $diff rows"
	fi
}

# Partitions of t as "name bound" lines, sorted.
partitions() {
	q -c "SELECT c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 't'::regclass ORDER BY 1"
}

# No trigger, function, shadow or old table left, no unfinished or failed journal row, and
# every partition of t carries both of t's indexes.
check_no_leftovers() {
	local n before=$failures
	n=$(q -c "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'fs\_%'")
	[ "$n" = 0 ] || fail "$1: $n capture trigger(s) left"
	n=$(q -c "SELECT count(*) FROM pg_proc WHERE pronamespace = 'foreshard'::regnamespace")
	[ "$n" = 0 ] || fail "$1: $n trigger function(s) left"
	n=$(q -c "SELECT string_agg(relname, ' ') FROM pg_class WHERE relkind = 'r'
		AND NOT relispartition AND relname ~ '_fs(old)?[0-9]+'")
	[ -z "$n" ] || fail "$1: tables left behind: $n"
	n=$(q -c "SELECT count(*) FROM foreshard.journal WHERE state NOT IN ('CLEANED', 'ROLLED_BACK')")
	[ "$n" = 0 ] || fail "$1: $n journal row(s) unfinished or failed"
	n=$(q -c "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE c.relkind = 'i' AND i.inhparent IN ('t_pkey'::regclass, 't_v_idx'::regclass)")
	local parts
	parts=$(partitions | wc -l)
	[ "$n" = $((parts * 2)) ] || fail "$1: $n partition indexes attached, want $((parts * 2))"
	[ "$failures" = "$before" ] && pass "$1: no leftovers, journal final, indexes attached"
}
