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

echo "--- other key types and names: timestamptz with a two-column primary key, a generated and"
echo "    a dropped column; text split at a literal with a quote; uuid split at a literal whose"
echo "    last 8 bytes are zero, as the planner writes them; quotes and spaces in every name"
q <<'SQL'
CREATE TABLE ev (id bigint, at timestamptz, dropme int, payload text,
	len int GENERATED ALWAYS AS (length(payload)) STORED, PRIMARY KEY (id, at))
	PARTITION BY RANGE (at);
CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE ev_rest PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO (MAXVALUE);
ALTER TABLE ev DROP COLUMN dropme;
INSERT INTO ev (id, at, payload) SELECT g % 5000, '2024-01-01'::timestamptz + g * interval '7 min',
	'p' || g FROM generate_series(0, 70000) g;
CREATE TABLE ev_m (LIKE ev INCLUDING GENERATED, PRIMARY KEY (id, at));
INSERT INTO ev_m (id, at, payload) SELECT id, at, payload FROM ev;
CREATE TABLE names (name text PRIMARY KEY, n int) PARTITION BY RANGE (name);
CREATE TABLE names_a PARTITION OF names FOR VALUES FROM (MINVALUE) TO ('m');
CREATE TABLE names_m PARTITION OF names FOR VALUES FROM ('m') TO (MAXVALUE);
INSERT INTO names SELECT chr(97 + g % 26) || md5(g::text), g FROM generate_series(1, 20000) g;
CREATE TABLE names_mirror (LIKE names, PRIMARY KEY (name));
INSERT INTO names_mirror SELECT * FROM names;
CREATE TABLE ids (id uuid PRIMARY KEY, n int) PARTITION BY RANGE (id);
CREATE TABLE ids_lo PARTITION OF ids
	FOR VALUES FROM (MINVALUE) TO ('80000000-0000-0000-0000-000000000000');
CREATE TABLE ids_hi PARTITION OF ids
	FOR VALUES FROM ('80000000-0000-0000-0000-000000000000') TO (MAXVALUE);
INSERT INTO ids SELECT md5(g::text)::uuid, g FROM generate_series(1, 20000) g;
CREATE TABLE ids_mirror (LIKE ids, PRIMARY KEY (id));
INSERT INTO ids_mirror SELECT * FROM ids;
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."we""ird" ("Key Col" int, "select" text, PRIMARY KEY ("Key Col"))
	PARTITION BY RANGE ("Key Col");
CREATE TABLE "Odd Schema"."it's p1" PARTITION OF "Odd Schema"."we""ird"
	FOR VALUES FROM (MINVALUE) TO (1000);
CREATE TABLE "Odd Schema"."it's p2" PARTITION OF "Odd Schema"."we""ird"
	FOR VALUES FROM (1000) TO (MAXVALUE);
INSERT INTO "Odd Schema"."we""ird" SELECT g, 'v' || g FROM generate_series(-500, 30000) g;
CREATE TABLE odd_m (LIKE "Odd Schema"."we""ird", PRIMARY KEY ("Key Col"));
INSERT INTO odd_m SELECT * FROM "Odd Schema"."we""ird";
SQL
cat >"$WORK/writer2.sql" <<'SQL'
\set k random(-500, 30000)
\set r random(1, 3)
BEGIN;
\if :r = 1
INSERT INTO "Odd Schema"."we""ird" VALUES (:k, 'w') ON CONFLICT ("Key Col") DO UPDATE SET "select" = EXCLUDED."select" || 'u';
INSERT INTO odd_m VALUES (:k, 'w') ON CONFLICT ("Key Col") DO UPDATE SET "select" = EXCLUDED."select" || 'u';
\elif :r = 2
DELETE FROM "Odd Schema"."we""ird" WHERE "Key Col" = :k;
DELETE FROM odd_m WHERE "Key Col" = :k;
\else
UPDATE "Odd Schema"."we""ird" SET "Key Col" = -1000 - (:k) WHERE "Key Col" = :k AND :k > 0 AND NOT EXISTS (SELECT 1 FROM "Odd Schema"."we""ird" WHERE "Key Col" = -1000 - (:k));
UPDATE odd_m SET "Key Col" = -1000 - (:k) WHERE "Key Col" = :k AND :k > 0 AND NOT EXISTS (SELECT 1 FROM odd_m WHERE "Key Col" = -1000 - (:k));
\endif
UPDATE ev SET payload = payload || 'x' WHERE id = abs((:k)::int) % 5000;
UPDATE ev_m SET payload = payload || 'x' WHERE id = abs((:k)::int) % 5000;
UPDATE names SET n = n + 1 WHERE n = abs((:k)::int) % 20000;
UPDATE names_mirror SET n = n + 1 WHERE n = abs((:k)::int) % 20000;
UPDATE ids SET n = n + 1 WHERE n = abs((:k)::int) % 20000;
UPDATE ids_mirror SET n = n + 1 WHERE n = abs((:k)::int) % 20000;
COMMIT;
SQL
writers_start "$WORK/writer2.sql" 1
"$DRIVER" --dsn "$DSN" --chunk 1000 --sleep-ms 10 split public.ev ev_2024 "'2024-07-01 00:00:00+00'" \
	>"$WORK/ev.out" 2>"$WORK/ev.err" || fail "timestamptz split failed: $(grep ^result "$WORK/ev.out")"
"$DRIVER" --dsn "$DSN" --chunk 1000 --sleep-ms 10 split public.names names_m "'t''x'" \
	>"$WORK/names.out" 2>"$WORK/names.err" || fail "text split failed: $(grep ^result "$WORK/names.out")"
"$DRIVER" --dsn "$DSN" --chunk 1000 --sleep-ms 10 split public.ids ids_lo \
	"'40000000-0000-0000-0000-000000000000'" >"$WORK/ids.out" 2>"$WORK/ids.err" ||
	fail "uuid split failed: $(grep ^result "$WORK/ids.out")"
"$DRIVER" --dsn "$DSN" --chunk 1000 --sleep-ms 10 split 'Odd Schema.we"ird' "it's p2" 20000 \
	>"$WORK/odd.out" 2>"$WORK/odd.err" || fail "odd names split failed: $(grep ^result "$WORK/odd.out")"
writers_stop
grep -q "ATTACH scanned" "$WORK/ev.err" "$WORK/names.err" "$WORK/ids.err" "$WORK/odd.err" &&
	fail "ATTACH PARTITION scanned a new partition"
ev_op=$(q -c "SELECT op_id FROM foreshard.journal WHERE table_name = 'ev'")
names_op=$(q -c "SELECT op_id FROM foreshard.journal WHERE table_name = 'names'")
ids_op=$(q -c "SELECT op_id FROM foreshard.journal WHERE table_name = 'ids'")
odd_op=$(q -c "SELECT op_id FROM foreshard.journal WHERE table_name = 'we\"ird'")
got=$(q -c "SELECT string_agg(c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid), '; '
	ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent IN ('ev'::regclass, 'names'::regclass, 'ids'::regclass,
	'\"Odd Schema\".\"we\"\"ird\"'::regclass)")
want="ev_2024_fs${ev_op}_a FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-07-01 00:00:00+00'); \
ev_2024_fs${ev_op}_b FOR VALUES FROM ('2024-07-01 00:00:00+00') TO ('2025-01-01 00:00:00+00'); \
ev_rest FOR VALUES FROM ('2025-01-01 00:00:00+00') TO (MAXVALUE); \
ids_hi FOR VALUES FROM ('80000000-0000-0000-0000-000000000000') TO (MAXVALUE); \
ids_lo_fs${ids_op}_a FOR VALUES FROM (MINVALUE) TO ('40000000-0000-0000-0000-000000000000'); \
ids_lo_fs${ids_op}_b FOR VALUES FROM ('40000000-0000-0000-0000-000000000000') TO ('80000000-0000-0000-0000-000000000000'); \
it's p1 FOR VALUES FROM (MINVALUE) TO (1000); \
it's p2_fs${odd_op}_a FOR VALUES FROM (1000) TO (20000); \
it's p2_fs${odd_op}_b FOR VALUES FROM (20000) TO (MAXVALUE); \
names_a FOR VALUES FROM (MINVALUE) TO ('m'); \
names_m_fs${names_op}_a FOR VALUES FROM ('m') TO ('t''x'); \
names_m_fs${names_op}_b FOR VALUES FROM ('t''x') TO (MAXVALUE)"
[ "$got" = "$want" ] && pass "four more splits: $got" ||
	fail "partitions after the four splits:"$'\n'"$got"$'\n'"want:"$'\n'"$want"
diff=$(q -c "SELECT (SELECT count(*) FROM ((SELECT * FROM ev EXCEPT ALL SELECT * FROM ev_m)
	UNION ALL (SELECT * FROM ev_m EXCEPT ALL SELECT * FROM ev)) d)
	+ (SELECT count(*) FROM ((SELECT * FROM names EXCEPT ALL SELECT * FROM names_mirror)
	UNION ALL (SELECT * FROM names_mirror EXCEPT ALL SELECT * FROM names)) d)
	+ (SELECT count(*) FROM ((SELECT * FROM ids EXCEPT ALL SELECT * FROM ids_mirror)
	UNION ALL (SELECT * FROM ids_mirror EXCEPT ALL SELECT * FROM ids)) d)
	+ (SELECT count(*) FROM ((SELECT * FROM \"Odd Schema\".\"we\"\"ird\" EXCEPT ALL SELECT * FROM odd_m)
	UNION ALL (SELECT * FROM odd_m EXCEPT ALL SELECT * FROM \"Odd Schema\".\"we\"\"ird\")) d)")
changed=$(q -c "SELECT count(*) FROM ev WHERE payload LIKE '%x'")
[ "$diff" = 0 ] && pass "the four tables equal their mirrors ($changed ev rows rewritten meanwhile)" ||
	fail "the four tables differ from their mirrors in $diff rows"
[ "$changed" -gt 0 ] || fail "the second writer changed nothing"
check_no_leftovers "after all splits"

if [ "$failures" -ne 0 ]; then
	echo "test_orch_split: $failures failure(s)" >&2
	exit 1
fi
echo "test_orch_split: passed"
