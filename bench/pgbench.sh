#!/usr/bin/env bash
# Benchmark: what foreshard costs a read-only workload. Not part of the test suite.
#
#   bash bench/pgbench.sh [BUILD_DIR]          (default: build-release; make demo builds it)
#
# Starts a throwaway PostgreSQL 15 and foreshard in front of it (observe mode: it profiles and
# forecasts every query but changes nothing), initialises pgbench at scale 10, then runs
# `pgbench -S` (select-only, simple protocol) for 20 s at 8 clients against PostgreSQL directly
# and through foreshard, alternating direct, foreshard, direct, foreshard so that drift of the
# machine hits both alike. Prints a table and, as its last line, one JSON object:
#   {"bench": "pgbench-select-only", "clients", "duration_s", "scale", "direct_tps": [...],
#    "foreshard_tps": [...], "direct_mean", "foreshard_mean", "ratio"}
# where ratio = foreshard_mean / direct_mean (1.0 = no overhead).
#
# Environment (all optional):
#   BENCH_DURATION=20  seconds per run       BENCH_CLIENTS=8   pgbench clients
#   BENCH_SCALE=10     pgbench scale         BENCH_ROUNDS=2    direct/foreshard pairs
#   BENCH_THREADS=2    pgbench threads (-j); the machines have 2 cores
#   BENCH_DIRECT_ONLY=1  development aid: skip foreshard and run only the direct half
#   BENCH_KEEP=1       keep the temporary directory (logs, config)
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_arg=${1:-$src/build-release}
duration=${BENCH_DURATION:-20}
clients=${BENCH_CLIENTS:-8}
scale=${BENCH_SCALE:-10}
rounds=${BENCH_ROUNDS:-2}
threads=${BENCH_THREADS:-2}
direct_only=${BENCH_DIRECT_ONLY:-0}
keep=${BENCH_KEEP:-0}

for v in duration clients scale rounds threads; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: ${v} must be a positive integer" >&2; exit 2; }
done
command -v pgbench >/dev/null || { echo "bench: pgbench not found (tools/deps.sh installs it)" >&2; exit 2; }
daemon=""
if [ "$direct_only" != 1 ]; then
	build=$(cd "$build_arg" 2>/dev/null && pwd) || { echo "bench: build directory $build_arg not found" >&2; exit 2; }
	daemon=$build/foreshard
	[ -x "$daemon" ] || { echo "bench: $daemon not found" >&2; exit 2; }
fi

say() { printf '%s\n' "bench: $*"; }

source "$src/tools/shlib.sh"

scratch_setup /tmp/foreshard-bench.XXXXXX
fs_pid=""
pg_started=0

console() {
	PGCONNECT_TIMEOUT=3 timeout 10 psql -X -At -h "$ctldir" -p "$ctl_port" foreshard -c "$1" 2>&1
}

stop_all() { fs_stop "$fs_pid" "$ctldir" "$ctl_port"; }
scratch_trap stop_all

say "starting a throwaway PostgreSQL 15 on 127.0.0.1:$pg_port"
start_scratch_pg
say "pgbench -i -s $scale"
pgbench_init "$pg_port" "$scale" "$tmp/init.log" || exit 2

if [ "$direct_only" != 1 ]; then
	{
		echo "# Written by bench/pgbench.sh: observe mode profiles and forecasts but never changes the schema."
		fs_conf_base
		printf '%s\n' "log_level = warn" "mode = observe"
	} >"$tmp/foreshard.conf"
	say "starting foreshard (observe mode) on 127.0.0.1:$fs_port"
	"$daemon" -c "$tmp/foreshard.conf" >"$tmp/foreshard.log" 2>&1 &
	fs_pid=$!
	wait_up "$fs_pid" "$tmp/foreshard.log" 150 answers "$fs_port" || exit 2
fi

# Runs pgbench -S against a port; prints its tps (excluding connection time).
run_pgbench() {
	local port=$1 log=$2 tps
	PGSSLMODE=disable pgbench -S -M simple -n -c "$clients" -j "$threads" -T "$duration" \
		-h 127.0.0.1 -p "$port" -U foreshard foreshard >"$log" 2>&1 || {
		say "pgbench failed:" >&2
		sed 's/^/    /' "$log" >&2
		return 1
	}
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$log")
	[ -n "$tps" ] || { say "no tps in pgbench output:" >&2; sed 's/^/    /' "$log" >&2; return 1; }
	echo "$tps"
}

direct_tps=()
fs_tps=()
for ((r = 1; r <= rounds; r++)); do
	say "round $r/$rounds: direct, ${duration}s at $clients clients"
	tps=$(run_pgbench "$pg_port" "$tmp/direct-$r.log") || exit 1
	direct_tps+=("$tps")
	if [ "$direct_only" != 1 ]; then
		say "round $r/$rounds: through foreshard, ${duration}s at $clients clients"
		tps=$(run_pgbench "$fs_port" "$tmp/foreshard-$r.log") || exit 1
		fs_tps+=("$tps")
		kill -0 "$fs_pid" 2>/dev/null || { say "foreshard died during the run"; exit 1; }
	fi
done
if [ "$direct_only" != 1 ]; then
	# Proof that the foreshard runs went through foreshard: the statements it relayed.
	queries=$(console "SHOW STATS" | sed -n 's/^queries|//p' || true)
	say "foreshard relayed ${queries:-an unknown number of} statements (SHOW STATS)"
fi
fs_stop "$fs_pid" "$ctldir" "$ctl_port"
fs_pid=""

mean() { printf '%s\n' "$@" | awk '{ s += $1; n++ } END { if (n) printf "%.1f", s / n; else printf "null" }'; }
join() { local IFS=,; echo "$*"; }
direct_mean=$(mean "${direct_tps[@]}")
fs_mean=null
ratio=null
if [ ${#fs_tps[@]} -gt 0 ]; then
	fs_mean=$(mean "${fs_tps[@]}")
	ratio=$(awk -v a="$fs_mean" -v b="$direct_mean" 'BEGIN { printf "%.3f", a / b }')
fi

echo
printf '%-6s  %-12s  %12s\n' round target tps
for ((r = 0; r < rounds; r++)); do
	printf '%-6s  %-12s  %12s\n' $((r + 1)) direct "${direct_tps[r]}"
	[ ${#fs_tps[@]} -eq 0 ] || printf '%-6s  %-12s  %12s\n' $((r + 1)) foreshard "${fs_tps[r]}"
done
printf '%-6s  %-12s  %12s\n' mean direct "$direct_mean"
printf '%-6s  %-12s  %12s\n' mean foreshard "$fs_mean"
printf '%-6s  %-12s  %12s\n' ratio foreshard/direct "$ratio"
echo
printf '{"bench": "pgbench-select-only", "clients": %s, "duration_s": %s, "scale": %s, "direct_tps": [%s], "foreshard_tps": [%s], "direct_mean": %s, "foreshard_mean": %s, "ratio": %s}\n' \
	"$clients" "$duration" "$scale" "$(join "${direct_tps[@]}")" "$(join "${fs_tps[@]}")" \
	"$direct_mean" "$fs_mean" "$ratio"
