#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions called from traps and through show_block look unreachable
# foreshard demo: a hot spot that comes back every cycle, and foreshard splitting its partition
# before it arrives.
#
#   bash tools/demo.sh BUILD_DIR          (make demo runs: bash tools/demo.sh build-release)
#
# What it does: starts a throwaway PostgreSQL 15, creates public.events (4 range partitions over
# ids [0, 1000000)) and its unpartitioned mirror with foreshard-loadgen --setup, starts foreshard
# in auto mode in front of it, and runs the load generator through foreshard for several cycles.
# The load is a uniform background plus a hot range inside partition events_p3 whose rate rises
# and falls once per cycle (peaks at 0.6, 1.6, 2.6, ... cycles). While it runs, the console's
# SHOW FORECAST, SHOW PLANS and SHOW JOURNAL are printed every few seconds. Afterwards the demo
# checks the data (events against events_mirror, which every write changed in the same
# transaction), reads when the split's cutover committed from foreshard.journal, and prints as
# its very last line one JSON object:
#   {"season_s", "split_at_s", "split_lead_s", "client_errors", "rows_lost", "rows_duplicated",
#    "max_stall_ms", "p99_ms"}
# split_at_s is the cutover's commit time minus the start of the load; split_lead_s is the time
# from the cutover to the first hot peak at or after it; max_stall_ms is the longest single
# request any client saw (the cutover pause shows up here).
#
# The demo fails (exit 1, after the JSON) when there was no split, when the split came before
# one full season of load (foreshard cannot have seen the cycle yet: that would be a reaction,
# not a forecast), when the cutover came after the first peak that follows one full season (the
# earliest peak a forecaster can anticipate), or on any client error, lost, duplicated or
# differing row. Exit 2 means it could not run (missing binaries, PostgreSQL would not start).
#
# Environment (all optional):
#   DEMO_CYCLE=40     cycle (season) length in seconds
#   DEMO_CYCLES=4     cycles of load; the default demo takes about 3 minutes in all
#   DEMO_KEEP=1       keep the temporary directory (logs, config) instead of removing it
#   DEMO_DIRECT=1     development aid, not a demo: skip foreshard and run the load straight
#                     against PostgreSQL, to test this script and the load generator while the
#                     daemon is unfinished. The split checks are reported but do not decide the
#                     exit status.
set -euo pipefail

usage() {
	echo "usage: bash tools/demo.sh BUILD_DIR" >&2
	exit 2
}
[ $# -eq 1 ] || usage
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || {
	echo "demo: build directory $1 not found (make demo builds it)" >&2
	exit 2
}

cycle=${DEMO_CYCLE:-40}
cycles=${DEMO_CYCLES:-4}
direct=${DEMO_DIRECT:-0}
keep=${DEMO_KEEP:-0}
[[ $cycle =~ ^[0-9]+$ && $cycle -ge 4 ]] || { echo "demo: DEMO_CYCLE must be an integer >= 4" >&2; exit 2; }
[[ $cycles =~ ^[0-9]+$ && $cycles -ge 2 ]] || { echo "demo: DEMO_CYCLES must be an integer >= 2" >&2; exit 2; }

# The scenario. Background load is spread over 4 partitions (base_rps/4 each); the hot range
# lies inside events_p3 = [500000, 750000) and adds up to peak_rps at each peak. The split
# threshold sits between the two, so only the forecast of the hot partition can cross it.
# Timing, by construction: the hot rate rises over 0.4..0.6 of each cycle and passes
# threshold - base/4 = 350 req/s at about 0.49, so the second cycle's rise crosses the threshold
# at about 1.49 cycles (59.7 s for a 40 s cycle). A horizon of 0.4 cycle (16 s) lets the forecast
# see that crossing from about 1.09 cycles on (43.7 s): a few seconds after the first full season
# of history, whatever the planner's own history gate, and about 20 s before the peak at 1.6
# cycles (64 s), ample for a backfill of 25,000 rows.
keys=1000000
rows=100000
partitions=4
hot_lo=600000
hot_hi=650000
base_rps=200
peak_rps=800
peak_phase=0.6
threshold_rps=400
clients=8
duration=$((cycle * cycles))
horizon=$((cycle * 2 / 5))
poll_s=5

loadgen=""
for f in "$build/foreshard-loadgen" "$build/tools/foreshard-loadgen"; do
	[ -x "$f" ] && loadgen=$f && break
done
[ -n "$loadgen" ] || { echo "demo: foreshard-loadgen not found in $build" >&2; exit 2; }
daemon=$build/foreshard
if [ "$direct" != 1 ] && [ ! -x "$daemon" ]; then
	echo "demo: $daemon not found" >&2
	exit 2
fi

say() { printf '%s\n' "demo: $*"; }
now_ms() { date +%s%3N; }

source "$src/tools/shlib.sh"

fs_pid=""
lg_pid=""
pg_started=0
log_shown=0 # the foreshard log was already shown; the cleanup need not repeat it

pg() { psql -X -q -v ON_ERROR_STOP=1 -At "$pg_dsn" "$@"; }
# One console command; its rows with a header line, fields separated by '|'.
console() {
	PGCONNECT_TIMEOUT=3 timeout 10 psql -X -A -P footer=off -h "$ctldir" -p "$ctl_port" \
		foreshard -c "$1" 2>&1
}

# Prints a titled, indented block of a command's output; a failing console command (an error
# from foreshard, a timeout) is shown, never fatal.
show_block() {
	local title=$1
	shift
	printf '  %s\n' "$title"
	{ "$@" || true; } | sed 's/^/    /'
}

# The result line, always the last line printed: fields not known (the demo stopped early) are
# null.
split_at_s=null
split_lead_s=null
client_errors=null
rows_lost=null
rows_duplicated=null
max_stall_ms=null
p99_ms=null
print_json() {
	printf '{"season_s": %s, "split_at_s": %s, "split_lead_s": %s, "client_errors": %s, "rows_lost": %s, "rows_duplicated": %s, "max_stall_ms": %s, "p99_ms": %s}\n' \
		"$cycle" "$split_at_s" "$split_lead_s" "$client_errors" "$rows_lost" \
		"$rows_duplicated" "$max_stall_ms" "$p99_ms"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	end_process "$lg_pid" TERM
	if [ "$rc" -ne 0 ] && [ -s "$tmp/foreshard.log" ] && [ "$log_shown" -ne 1 ]; then
		echo "demo: last lines of the foreshard log:"
		tail -n 30 "$tmp/foreshard.log" | sed 's/^/    /'
	fi
	fs_stop "$fs_pid" "$ctldir" "$ctl_port"
	finish_tmp "$tmp" "$keep" "$pgdir" "$pg_started"
	print_json
	exit "$rc"
}
scratch_setup /tmp/foreshard-demo.XXXXXX
trap cleanup EXIT
trap 'exit 130' INT TERM
pg_dsn="host=127.0.0.1 port=$pg_port user=foreshard dbname=foreshard sslmode=disable"
fs_dsn="host=127.0.0.1 port=$fs_port user=foreshard dbname=foreshard sslmode=disable"

# --- 1. PostgreSQL and the table ------------------------------------------------------------
say "starting a throwaway PostgreSQL 15 on 127.0.0.1:$pg_port ($pgdir)"
start_scratch_pg
say "creating public.events ($partitions range partitions over [0, $keys)) and public.events_mirror"
"$loadgen" --dsn "$pg_dsn" --setup --keys "$keys" --rows "$rows" --partitions "$partitions" \
	2>&1 | sed 's/^/    /'
pg -F ' ' -c "SELECT '    ' || c.relname, pg_get_expr(c.relpartbound, c.oid)
	FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'public.events'::regclass ORDER BY c.relname"

# --- 2. foreshard ---------------------------------------------------------------------------
if [ "$direct" = 1 ]; then
	say "DEMO_DIRECT=1: development run without foreshard; the load goes straight to PostgreSQL"
	lg_dsn=$pg_dsn
else
	conf=$tmp/foreshard.conf
	{
		cat <<HEAD
# Written by tools/demo.sh. One window per second, one season per load cycle (${cycle} s), a
# horizon of 0.4 cycle (see the demo's comments for why). split_threshold_rps lies between the
# background load of one partition ($((base_rps / partitions)) req/s) and the hot peak ($peak_rps req/s).
# The hysteresis outlasts the demo, so that exactly one split happens; cleanup_grace_s keeps
# the old partition 30 s after the cutover.
HEAD
		fs_conf_base
		cat <<CONF
log_level = info
tables = public.events
mode = auto
window_ms = 1000
season_windows = $cycle
horizon_windows = $horizon
sub_buckets = 8
split_threshold_rps = $threshold_rps
hysteresis_s = 3600
cleanup_grace_s = 30
CONF
	} >"$conf"
	say "starting foreshard in auto mode on 127.0.0.1:$fs_port (console: psql -h $ctldir -p $ctl_port foreshard)"
	"$daemon" -c "$conf" >"$tmp/foreshard.log" 2>&1 &
	fs_pid=$!
	# up: the console answers and so does the proxy
	fs_up() { console "SHOW STATS" && answers "$fs_port"; }
	wait_up "$fs_pid" "$tmp/foreshard.log" 150 fs_up || {
		kill -0 "$fs_pid" 2>/dev/null || log_shown=1 # wait_up showed the log
		exit 2
	}
	say "foreshard is up"
	show_block "SHOW TABLES" console "SHOW TABLES"
	lg_dsn=$fs_dsn
fi

# --- 3. the load ----------------------------------------------------------------------------
peaks=""
for ((k = 0; k < cycles; k++)); do
	peaks+="$(awk -v k=$k -v p=$peak_phase -v c="$cycle" 'BEGIN { printf "%g", (k + p) * c }')s "
done
# The earliest peak a forecaster can anticipate: the first one after a full season of load.
first_target=$(awk -v p=$peak_phase -v c="$cycle" 'BEGIN { k = 0; while ((k + p) * c < c) k++; printf "%g", (k + p) * c }')
say "load: $clients clients, ${duration}s = $cycles cycles of ${cycle}s; $base_rps req/s over all keys"
say "      + up to $peak_rps req/s on ids [$hot_lo, $hot_hi) (in events_p3), peaking at t = ${peaks% }"
say "      30% writes, each changing events and events_mirror in one transaction"
say "expected: foreshard learns the first cycle, forecasts the next peak and splits events_p3"
say "          at or after t = ${cycle}s and before the peak at t = ${first_target}s"
"$loadgen" --dsn "$lg_dsn" --clients "$clients" --duration "$duration" --cycle "$cycle" \
	--peak-phase "$peak_phase" --base-rps "$base_rps" --peak-rps "$peak_rps" --keys "$keys" \
	--rows "$rows" --hot-lo "$hot_lo" --hot-hi "$hot_hi" --write-ratio 0.3 --seed 1 \
	>"$tmp/loadgen.json" 2>"$tmp/loadgen.log" &
lg_pid=$!
load_t0=$(now_ms)

# The offered hot rate at t seconds, as the load generator schedules it (a raised-cosine bump
# over the middle 40% of each cycle).
hot_now() {
	awk -v t="$1" -v c="$cycle" -v p=$peak_phase -v r=$peak_rps 'BEGIN {
		x = t / c; f = x - int(x); d = f - p
		if (d > 0.5) d -= 1; if (d < -0.5) d += 1
		printf "%.0f", (d > -0.2 && d < 0.2) ? r * 0.5 * (1 + cos(2 * 3.14159265 * d / 0.4)) : 0 }'
}

# SHOW FORECAST can be long (one row per step of the horizon): the header, the first row, the
# row with the highest load and the last row are enough to see the forecast rise.
show_forecast() {
	console "SHOW FORECAST public.events" | awk -F'|' '
		NR == 1 { hdr = $0; for (i = 1; i <= NF; i++) if (lc == 0 && tolower($i) ~ /load/) lc = i; next }
		{ n++; row[n] = $0; if (lc && (best == 0 || $lc + 0 > bestv)) { best = n; bestv = $lc + 0 } }
		END {
			print hdr
			if (n <= 6) { for (i = 1; i <= n; i++) print row[i]; exit }
			print row[1]
			if (best > 1 && best < n) { print "... highest load:"; print row[best] }
			print "... (" n " rows) last:"
			print row[n]
		}'
}

# Split operations in foreshard.journal, read from PostgreSQL itself. The journal's exact column
# names belong to the orchestrator, so each row is read as JSON and its fields are found by name
# pattern: a kind-like field saying "split", a state, and the timestamps (ms since the epoch;
# numbers in s, ms or us and timestamptz strings are all understood). Prints
#   op|STATE|cutover_ms|updated_ms|created_ms
# one line per split, oldest first; nothing when there is no journal yet.
journal_splits() {
	pg 2>/dev/null <<'SQL' || true
CREATE FUNCTION pg_temp.ms(v jsonb) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN v IS NULL OR jsonb_typeof(v) = 'null' THEN NULL
		WHEN (v #>> '{}') ~ '^[0-9]+(\.[0-9]*)?$' THEN (CASE
			WHEN (v #>> '{}')::numeric > 1e14 THEN (v #>> '{}')::numeric / 1000
			WHEN (v #>> '{}')::numeric < 1e11 THEN (v #>> '{}')::numeric * 1000
			ELSE (v #>> '{}')::numeric END)::bigint
		ELSE (extract(epoch FROM (v #>> '{}')::timestamptz) * 1000)::bigint
	END $$;
CREATE FUNCTION pg_temp.field(r jsonb, pattern text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT e.value FROM jsonb_each(r) e WHERE e.key ~* pattern ORDER BY e.key LIMIT 1 $$;
SELECT coalesce(pg_temp.field(r, '^(op_?id|id)$') #>> '{}', '?'),
	upper(coalesce(pg_temp.field(r, '^(state|status)$') #>> '{}', '')),
	coalesce(pg_temp.ms(pg_temp.field(r, '^cut_?over(_at|_ts|_ms|_time)?$'))::text, ''),
	coalesce(pg_temp.ms(pg_temp.field(r, '^(updated|modified)(_at|_ts|_ms|_time)?$'))::text, ''),
	coalesce(pg_temp.ms(pg_temp.field(r, '^created(_at|_ts|_ms|_time)?$'))::text, '')
FROM (SELECT to_jsonb(j) AS r FROM foreshard.journal j) s
WHERE EXISTS (SELECT 1 FROM jsonb_each(r) e
	WHERE e.key ~* '(kind|type|action|^op$|operation)' AND (e.value #>> '{}') ~* 'split')
ORDER BY 5, 1;
SQL
}

# The console's SHOW JOURNAL; when the console cannot show it, the split rows of
# foreshard.journal read directly, with their last update relative to the start of the load.
show_journal() {
	local out op state upd
	if out=$(console "SHOW JOURNAL"); then
		printf '%s\n' "$out"
		return 0
	fi
	printf '%s\n' "$out" | head -n 1
	echo "foreshard.journal, read directly:"
	while IFS='|' read -r op state _ upd _; do
		[ -n "$op" ] || continue
		awk -v op="$op" -v st="$state" -v u="${upd:-0}" -v t0="$load_t0" 'BEGIN {
			printf "op %s: SPLIT %s", op, st
			if (u > 0) printf ", last update at t=%.1fs", (u - t0) / 1000
			printf "\n" }'
	done < <(journal_splits)
}

# Best knowledge of the first split's cutover commit (wall-clock ms), refined at every poll: a
# cutover timestamp field if the journal has one; otherwise the row's update time while its
# state is CUT_OVER (the cutover transaction writes that state); as a last resort, the time the
# demo first saw the split at or past CUT_OVER (accurate to one poll).
cutover_ms=""
cutover_src=""
n_splits=0
note_journal() {
	local op state cut upd
	n_splits=0
	while IFS='|' read -r op state cut upd _; do
		[ -n "$op" ] || continue
		n_splits=$((n_splits + 1))
		[ "$n_splits" -eq 1 ] || continue
		case "$state" in
		CUT_OVER | CUTOVER | CLEANUP | CLEANING | CLEANED | DONE) ;;
		*) continue ;;
		esac
		if [ -n "$cut" ]; then
			cutover_ms=$cut cutover_src="journal's cutover time of op $op"
		elif [[ $state =~ ^CUT_?OVER$ ]] && [ -n "$upd" ]; then
			cutover_ms=$upd cutover_src="journal's update time of op $op in state $state"
		elif [ -z "$cutover_ms" ]; then
			cutover_ms=$(now_ms) cutover_src="first poll that saw op $op in state $state, +-${poll_s}s"
		fi
	done < <(journal_splits)
}

say "load running; console output every ${poll_s}s"
while kill -0 "$lg_pid" 2>/dev/null; do
	sleep "$poll_s" &
	wait $! || true
	kill -0 "$lg_pid" 2>/dev/null || break
	t=$((($(now_ms) - load_t0) / 1000))
	echo "--- t=${t}s  offered: $base_rps req/s background + $(hot_now "$t") req/s hot on [$hot_lo, $hot_hi)"
	if [ "$direct" != 1 ]; then
		if ! kill -0 "$fs_pid" 2>/dev/null; then
			say "foreshard died during the load"
			break
		fi
		show_block "SHOW FORECAST public.events" show_forecast
		show_block "SHOW PLANS" console "SHOW PLANS"
		show_block "SHOW JOURNAL" show_journal
		note_journal
	fi
done
lg_rc=0
wait "$lg_pid" || lg_rc=$?
lg_pid=""
if [ "$lg_rc" -ne 0 ] || [ ! -s "$tmp/loadgen.json" ]; then
	say "the load generator failed (exit $lg_rc):"
	sed 's/^/    /' "$tmp/loadgen.log"
	exit 1
fi
say "load finished: $(cat "$tmp/loadgen.json")"
if [ -s "$tmp/loadgen.log" ]; then
	say "load generator messages:"
	sed 's/^/    /' "$tmp/loadgen.log"
fi

# --- 4. results -------------------------------------------------------------------------------
if [ "$direct" != 1 ]; then
	note_journal
	show_block "SHOW JOURNAL" show_journal
	show_block "SHOW STATS" console "SHOW STATS"
	say "stopping foreshard"
	fs_stop "$fs_pid" "$ctldir" "$ctl_port"
	fs_pid=""
fi

say "partitions of public.events now:"
pg -F ' ' -c "SELECT '    ' || c.relname, pg_get_expr(c.relpartbound, c.oid), '(' || count(e.id) || ' rows)'
	FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	LEFT JOIN public.events e ON e.tableoid = c.oid
	WHERE i.inhparent = 'public.events'::regclass GROUP BY c.oid, c.relname ORDER BY 2"

say "comparing events with events_mirror"
mirror_diff=$(pg -c "SELECT count(*) FROM ((SELECT id, val, updated_at FROM public.events
	EXCEPT SELECT id, val, updated_at FROM public.events_mirror) UNION ALL
	(SELECT id, val, updated_at FROM public.events_mirror
	EXCEPT SELECT id, val, updated_at FROM public.events)) d")
rows_lost=$(pg -c "SELECT count(*) FROM public.events_mirror m
	WHERE NOT EXISTS (SELECT 1 FROM public.events e WHERE e.id = m.id)")
# Counted over every partition (each row with its tableoid), so that an id present in two
# partitions is seen even though each partition's own primary key is intact.
rows_duplicated=$(pg -c "SELECT coalesce(sum(n - 1), 0) FROM (SELECT id, count(*) AS n
	FROM (SELECT id, tableoid FROM public.events) e GROUP BY id HAVING count(*) > 1) d")
counts=$(pg -F ' ' -c "SELECT (SELECT count(*) FROM public.events), (SELECT count(*) FROM public.events_mirror)")
say "    rows: events ${counts% *}, events_mirror ${counts#* }; differing $mirror_diff, lost $rows_lost, duplicated $rows_duplicated"
if [ "$rows_duplicated" -gt 0 ]; then
	pg -F ' ' -c "SELECT '    duplicated id', id, string_agg(tableoid::regclass::text, ', ')
		FROM public.events GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 10"
fi

# Numbers from the load generator's JSON line (flat; only peaks_ms is an array).
lg_json=$(cat "$tmp/loadgen.json")
json_num() { sed -n "s/.*\"$1\": *\([-0-9.e+]*\).*/\1/p" <<<"$lg_json"; }
start_ms=$(json_num start_ms)
client_errors=$(json_num errors)
p99_ms=$(json_num p99_ms)
max_stall_ms=$(json_num max_ms)
peaks_ms=$(sed -n 's/.*"peaks_ms": *\[\([^]]*\)\].*/\1/p' <<<"$lg_json" | tr -d ' ' | tr ',' ' ')

if [ -n "$cutover_ms" ]; then
	split_at_s=$(awk -v c="$cutover_ms" -v s="$start_ms" 'BEGIN { printf "%.3f", (c - s) / 1000 }')
	for p in $peaks_ms; do
		if [ "$p" -ge "$cutover_ms" ]; then
			split_lead_s=$(awk -v l=$((p - cutover_ms)) 'BEGIN { printf "%.3f", l / 1000 }')
			break
		fi
	done
	say "split cut over at t = ${split_at_s}s (from the $cutover_src); lead to the next peak: ${split_lead_s}s"
	[ "$n_splits" -le 1 ] || say "warning: the journal holds $n_splits split operations; the first one is judged"
fi

# --- 5. verdict -------------------------------------------------------------------------------
problems=()
split_problems=()
[ "$client_errors" = 0 ] || problems+=("$client_errors client errors")
[ "$rows_lost" = 0 ] || problems+=("$rows_lost rows lost")
[ "$rows_duplicated" = 0 ] || problems+=("$rows_duplicated rows duplicated")
[ "$mirror_diff" = 0 ] || problems+=("$mirror_diff rows differ between events and events_mirror")
if [ "$split_at_s" = null ]; then
	split_problems+=("no split")
else
	if awk -v a="$split_at_s" -v c="$cycle" 'BEGIN { exit !(a < c) }'; then
		split_problems+=("split at ${split_at_s}s, before one full season (${cycle}s) of load")
	fi
	if awk -v a="$split_at_s" -v p="$first_target" 'BEGIN { exit !(a > p) }'; then
		split_problems+=("split at ${split_at_s}s, after the peak at ${first_target}s")
	fi
fi
if [ "$direct" = 1 ]; then
	[ ${#split_problems[@]} -eq 0 ] || say "DEMO_DIRECT: not judged: ${split_problems[*]}"
else
	problems+=("${split_problems[@]}")
fi
log_shown=1 # the verdict says what went wrong; the cleanup need not dump the log
status=0
for p in "${problems[@]}"; do
	say "FAIL: $p"
	status=1
done
[ "$status" -ne 0 ] || say "PASS"
exit "$status" # the cleanup prints the JSON line last
