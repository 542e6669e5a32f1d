#!/usr/bin/env bash
# Refusals: tables the SPLIT protocol cannot handle safely (an inbound foreign key, no primary
# key, a DEFAULT partition, a multi-column or expression key, an unsupported key type) and
# requests that make no sense (a split point outside the partition or on its bound, a literal
# of the wrong type, an attempt at SQL injection, an unknown partition) are refused with a
# message that says why, and nothing in the database changes.
set -uo pipefail
. "$(dirname "$0")/orch_lib.sh"

pg_start
make_tables
q <<'SQL'
CREATE TABLE fk_parent (id bigint PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE fk_parent_p1 PARTITION OF fk_parent FOR VALUES FROM (0) TO (1000);
CREATE TABLE fk_parent_p2 PARTITION OF fk_parent FOR VALUES FROM (1000) TO (2000);
INSERT INTO fk_parent SELECT generate_series(0, 1999);
CREATE TABLE fk_child (id bigint PRIMARY KEY, parent bigint REFERENCES fk_parent (id));
INSERT INTO fk_child SELECT g, g FROM generate_series(0, 1999, 7) g;

CREATE TABLE nopk (id bigint NOT NULL, v int) PARTITION BY RANGE (id);
CREATE INDEX ON nopk (id);
CREATE TABLE nopk_p1 PARTITION OF nopk FOR VALUES FROM (0) TO (1000);
INSERT INTO nopk SELECT g, g FROM generate_series(0, 999) g;

CREATE TABLE withdef (id bigint PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE withdef_p1 PARTITION OF withdef FOR VALUES FROM (0) TO (1000);
CREATE TABLE withdef_rest PARTITION OF withdef DEFAULT;

CREATE TABLE twocol (a int, b int, PRIMARY KEY (a, b)) PARTITION BY RANGE (a, b);
CREATE TABLE twocol_p1 PARTITION OF twocol FOR VALUES FROM (0, 0) TO (10, 0);

CREATE TABLE byexpr (id bigint NOT NULL) PARTITION BY RANGE ((id / 10));
CREATE TABLE byexpr_p1 PARTITION OF byexpr FOR VALUES FROM (0) TO (100);

CREATE TABLE bynum (id numeric PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE bynum_p1 PARTITION OF bynum FOR VALUES FROM (0) TO (100);
SQL

# the database as seen by the checks below: relations, triggers, functions and the journal
snapshot() {
	q -c "SELECT string_agg(format('%s:%s:%s', relname, relkind, relispartition), ' '
		ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace" &&
		q -c "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal" &&
		q -c "SELECT count(*) FROM pg_proc WHERE pronamespace = 'foreshard'::regnamespace" &&
		q -c "SELECT count(*) FROM fk_parent" -c "SELECT count(*) FROM t" ||
		die "cannot take a snapshot of the database"
}

# refused NAME TABLE PARTITION LITERAL WORDS: the split must fail (exit 1) with WORDS in its
# result message.
refused() {
	local name=$1 table=$2 part=$3 lit=$4 words=$5 rc
	"$DRIVER" --dsn "$DSN" split "$table" "$part" "$lit" >"$WORK/refuse.out" 2>"$WORK/refuse.err"
	rc=$?
	if [ $rc -ne 1 ]; then
		fail "$name: orch_driver exited with $rc, want 1"
		cat "$WORK/refuse.out" "$WORK/refuse.err" >&2
		return
	fi
	if grep -q "^result action=1 ok=0 .*$words" "$WORK/refuse.out"; then
		pass "$name: $(grep '^result' "$WORK/refuse.out" | sed 's/.*message=//')"
	else
		fail "$name: message lacks \"$words\": $(grep '^result' "$WORK/refuse.out")"
	fi
}

"$DRIVER" --dsn "$DSN" catalog >"$WORK/catalog.out" 2>"$WORK/catalog.err" ||
	die "catalog listing failed: $(cat "$WORK/catalog.err")"
before=$(snapshot) || exit 1

# catalog: each table is marked unsupported with a reason that says what to do
expect_reason() {
	if grep -q "^table public.$1 .*supported=0 .*$2" "$WORK/catalog.out"; then
		pass "catalog: $1 unsupported ($2)"
	else
		fail "catalog: $1 should be unsupported with \"$2\": $(grep "^table public.$1 " "$WORK/catalog.out")"
	fi
}
expect_reason fk_parent "referenced by foreign key fk_child_parent_fkey on public.fk_child.*drop that foreign key"
expect_reason nopk "has no primary key; add one"
expect_reason withdef "has a DEFAULT partition (withdef_rest).*drop it"
expect_reason twocol "partitioned on several columns"
expect_reason byexpr "partitioned on an expression"
expect_reason bynum "partition key id has type numeric"
grep -q "^table public.t .*supported=1" "$WORK/catalog.out" || fail "catalog: t should be supported"

refused "inbound foreign key" public.fk_parent fk_parent_p1 500 "referenced by foreign key"
refused "no primary key" public.nopk nopk_p1 500 "has no primary key"
refused "default partition" public.withdef withdef_p1 500 "DEFAULT partition"
refused "numeric key" public.bynum bynum_p1 50 "type numeric"
refused "split above the partition" public.t t_p2 250000 "not strictly inside"
refused "split on the lower bound" public.t t_p2 100000 "not strictly inside"
refused "literal of the wrong type" public.t t_p2 "'abc'" "invalid input syntax for type bigint"
refused "injection attempt" public.t t_p2 "1); DROP TABLE t; --" "unexpected"
refused "unknown partition" public.t t_p9 150000 "no range partition named t_p9"

after=$(snapshot) || exit 1
if [ "$before" = "$after" ]; then
	pass "nothing changed in the database"
else
	fail "the database changed:"$'\n'"$before"$'\n'"---"$'\n'"$after"
fi
n=$(q -c "SELECT count(*) FROM foreshard.journal")
[ "$n" = 0 ] || fail "refused splits wrote $n journal row(s)"
check_mirror "after refusals"

if [ "$failures" -ne 0 ]; then
	echo "test_orch_refuse: $failures failure(s)" >&2
	exit 1
fi
echo "test_orch_refuse: passed"
