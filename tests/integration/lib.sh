# Shared helpers for integration tests: a throwaway PostgreSQL, a foreshard in front of it, and
# cleanup on exit. Source it; FS_BUILD and FS_SRC come from CTest (defaults: build/, repo root).
# An external PostgreSQL can be used instead of a throwaway one by setting FS_TEST_PGHOST and
# FS_TEST_PGPORT (the user "foreshard" must be a superuser there and own database "foreshard").
set -euo pipefail

FS_SRC=${FS_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FS_BUILD=${FS_BUILD:-$FS_SRC/build}
TEST_DIR=$(mktemp -d /tmp/fs-itest.XXXXXX)
chmod 755 "$TEST_DIR"
PIDS=()

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

source "$FS_SRC/tools/shlib.sh"

cleanup() {
	local rc=$?
	for pid in "${PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	if [ -z "${FS_TEST_PGHOST:-}" ] && [ -d "$TEST_DIR/pg" ]; then
		bash "$FS_SRC/tools/pgtmp.sh" stop "$TEST_DIR/pg" || true
	fi
	if [ $rc -ne 0 ] && [ -f "$TEST_DIR/foreshard.log" ]; then
		echo "---- foreshard.log (last 40 lines) ----" >&2
		tail -40 "$TEST_DIR/foreshard.log" >&2
	fi
	rm -rf "$TEST_DIR"
	exit $rc
}
trap cleanup EXIT

# Starts PostgreSQL (or uses the external one); sets PGHOST_TCP, PGPORT_DB, PGSOCK.
start_pg() {
	if [ -n "${FS_TEST_PGHOST:-}" ]; then
		PGHOST_TCP=$FS_TEST_PGHOST
		PGPORT_DB=${FS_TEST_PGPORT:-5432}
		PGSOCK=$FS_TEST_PGHOST
		return
	fi
	PGPORT_DB=$(free_port)
	bash "$FS_SRC/tools/pgtmp.sh" start "$TEST_DIR/pg" "$PGPORT_DB"
	PGHOST_TCP=127.0.0.1
	PGSOCK=$TEST_DIR/pg
}

# psql straight to PostgreSQL as the superuser "foreshard".
db() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$PGHOST_TCP" -p "$PGPORT_DB" -U foreshard -d foreshard "$@"
}

# Starts foreshard in front of the database; extra arguments are --set overrides.
# Sets FS_PORT, FS_CTL_DIR, FS_CTL_PORT, FS_PID.
start_foreshard() {
	FS_PORT=$(free_port)
	FS_CTL_PORT=$(free_port)
	FS_CTL_DIR=$TEST_DIR
	cat >"$TEST_DIR/foreshard.ini" <<INI
listen_addr = 127.0.0.1
listen_port = $FS_PORT
server_host = $PGHOST_TCP
server_port = $PGPORT_DB
control_dir = $FS_CTL_DIR
control_port = $FS_CTL_PORT
manage_dsn = 'host=$PGHOST_TCP port=$PGPORT_DB dbname=foreshard user=foreshard'
mode = observe
workers = 2
INI
	"$FS_BUILD/foreshard" -c "$TEST_DIR/foreshard.ini" "$@" >>"$TEST_DIR/foreshard.log" 2>&1 &
	FS_PID=$!
	PIDS+=("$FS_PID")
	for _ in $(seq 1 100); do
		if console -c 'SHOW STATS' >/dev/null 2>&1; then
			return
		fi
		kill -0 "$FS_PID" 2>/dev/null || fail "foreshard exited at start: $(tail -5 "$TEST_DIR/foreshard.log")"
		sleep 0.1
	done
	fail "foreshard did not open its console"
}

# Stops foreshard with SIGTERM and checks that it exits cleanly within 10 s.
stop_foreshard() {
	kill -TERM "$FS_PID"
	for _ in $(seq 1 100); do
		if ! kill -0 "$FS_PID" 2>/dev/null; then
			wait "$FS_PID" || fail "foreshard exited with status $? on SIGTERM"
			return
		fi
		sleep 0.1
	done
	fail "foreshard did not stop within 10 s of SIGTERM"
}

# psql through foreshard; user and password through PGUSER/PGPASSWORD if set.
fsql() {
	psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$FS_PORT" -U "${PGUSER:-foreshard}" -d foreshard "$@"
}

# The admin console, unaligned and tuples-only for scripts.
console() {
	psql -X -At -h "$FS_CTL_DIR" -p "$FS_CTL_PORT" -d foreshard "$@"
}

# Value of one SHOW STATS counter.
stat() {
	console -c 'SHOW STATS' | awk -F'|' -v k="$1" '$1 == k { print $2 }'
}

# The loadgen binary (tools/foreshard-loadgen).
LOADGEN=$FS_BUILD/tools/foreshard-loadgen

# Creates public.events (bigint id, primary key) in 2 range partitions over [0, 100000) with
# 20,000 rows, and its unpartitioned mirror public.events_mirror.
setup_events() {
	"$LOADGEN" --dsn "host=$PGHOST_TCP port=$PGPORT_DB dbname=foreshard user=foreshard" \
		--setup --keys 100000 --rows 20000 --partitions 2 >/dev/null ||
		fail "loadgen --setup"
}

# Rows that differ between events and its mirror (must be 0).
mirror_diff() {
	db -At -c "SELECT count(*) FROM ((TABLE public.events EXCEPT ALL TABLE public.events_mirror)
		UNION ALL (TABLE public.events_mirror EXCEPT ALL TABLE public.events)) d"
}

# Waits up to $2 seconds for a SHOW PLANS row in state $1; prints its id.
wait_plan() {
	local id
	for _ in $(seq 1 $(($2 * 5))); do
		id=$(console -c 'SHOW PLANS' | awk -F'|' -v s="$1" '$3 == s { print $1; exit }')
		if [ -n "$id" ]; then
			echo "$id"
			return
		fi
		sleep 0.2
	done
	fail "no plan reached state $1 within $2 s: $(console -c 'SHOW PLANS')"
}

# Number of partitions of public.events in the database.
partitions() {
	db -At -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.events'::regclass"
}
