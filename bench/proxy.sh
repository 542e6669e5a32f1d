#!/usr/bin/env bash
# Benchmark: foreshard against PgBouncer, a bare byte forwarder and PostgreSQL directly, in one
# invocation. Not part of the test suite.
#
#   bash bench/proxy.sh [BUILD_DIR]     (default: build-release; it needs foreshard and
#                                        bench/fs-fwd built there: cmake --build DIR)
#
# Starts a throwaway PostgreSQL 15 (tools/pgtmp.sh), initialises pgbench at scale 10, and starts
#   forwarder  bench/fwd.c (fs-fwd): copies bytes, parses nothing; the cost of the hop alone
#   pgbouncer  Debian's PgBouncer, session mode, auth_type trust (pgtmp trusts 127.0.0.1 and
#              the Unix socket); run as the postgres user when we are root, since it refuses root
#   foreshard  observe mode: every statement is lexed, its template looked up and a profile event
#              sent to the forecast thread, but the schema is never changed
# with as many worker threads as cores for the forwarder and foreshard (PgBouncer has one). Then,
# for each workload and client count, it runs pgbench for BENCH_DURATION seconds against all four
# targets (direct, forwarder, pgbouncer, foreshard), the order rotating from one configuration
# and round to the next so that drift of the machine does not always hit the same target:
#   select-simple    pgbench -S -M simple     (one SELECT per transaction)
#   select-prepared  pgbench -S -M prepared   (extended protocol, statement parsed once)
#   tpcb             pgbench -M simple        (the default TPC-B-like script, 7 statements)
# pgbench writes one log line per transaction (--log); the average and p99 latency come from
# those lines (p99 by nearest rank over every transaction of the run), tps is pgbench's "without
# initial connection time". Before each tpcb run pgbench_history is truncated and the small tables
# vacuumed, as pgbench itself does without -n.
#
# Each proxy's CPU time (user + system, all its threads, from /proc/PID/stat) is read before and
# after each of its runs and divided by the transactions pgbench completed: microseconds of proxy
# CPU per transaction. Unlike tps on a shared 2-core machine, where the proxy competes with
# PostgreSQL and pgbench for the cores, this is the proxy's own cost, and it varies little from
# run to run. (Ticks are 10 ms; a 15 s run gives the proxy hundreds of them.) The user-space
# part of it is reported as well: the kernel's share (the sockets) is about the same for every
# proxy, so what a proxy's own code costs shows there.
#
# Prints a table per run, a table of ratios per configuration (foreshard tps divided by that of
# PgBouncer, of direct and of the forwarder, >1 = foreshard faster) and, as its last line, one
# JSON object:
#   {"bench": "proxy", "upstream", "duration_s", "rounds", "scale", "pgbench_threads", "workers",
#    "cores", "results": [{"workload", "clients",
#       "direct": {"tps": [per round], "avg_ms": [...], "p99_ms": [...], "cpu_us_tx": [...],
#                  "user_us_tx": [...], "tps_mean", "avg_ms_mean", "p99_ms_mean",
#                  "cpu_us_tx_mean", "user_us_tx_mean"},
#       "forwarder": {...}, "pgbouncer": {...}, "foreshard": {...}, "fs_pgbouncer", "fs_direct",
#       "fs_forwarder", "cpu_fs_pgbouncer", "user_fs_pgbouncer"}, ...],
#    "geomean_fs_pgbouncer", "geomean_fs_direct", "geomean_fs_forwarder"}
# (with BENCH_BASELINE also "baseline": {...}, "fs_baseline" and "geomean_fs_baseline").
# The geometric means are over the configurations. A full run with the defaults takes about
# 10 minutes (36 runs of 15 s plus start-up, connections and log processing; a 3 s smoke run of
# the full matrix took 2 minutes).
#
# Environment (all optional):
#   BENCH_DURATION=15   seconds per pgbench run     BENCH_ROUNDS=1    runs per target and config
#   BENCH_CLIENTS="1 8 64"                          pgbench client counts (-c)
#   BENCH_WORKLOADS="select-simple select-prepared tpcb"
#   BENCH_UPSTREAM=tcp  how foreshard, PgBouncer and the forwarder reach PostgreSQL: tcp
#                       (127.0.0.1) or unix (PostgreSQL's socket directory, a cheaper hop).
#                       pgbench always reaches every target, and PostgreSQL directly, over TCP.
#   BENCH_SCALE=10      pgbench scale               BENCH_THREADS=2   pgbench threads (-j)
#   BENCH_WORKERS=cores foreshard and forwarder worker threads
#   BENCH_BASELINE=DIR  also run the foreshard built in DIR (another commit, same settings) as
#                       target "baseline", and print foreshard/baseline: a change's effect
#                       measured in the same run as its peers
#   BENCH_KEEP=1        keep the temporary directory (pgbench outputs, configs, logs; the
#                       per-transaction logs are always removed once summarised, they are large)
#   BENCH_SESSIONS=1    start each proxy and each pgbench in a session of its own (setsid), as
#                       a service manager or a daemon's own detaching would; 0 leaves them all
#                       in this script's session. Where the kernel groups CPU time by session
#                       (sched_autogroup_enabled = 1) this could matter, since PostgreSQL puts
#                       every backend in a session of its own; measured on 2026-12-03 at 64
#                       clients, the difference was within the noise (docs/benchmarks.md).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_arg=${1:-$src/build-release}
cores=$(nproc)
duration=${BENCH_DURATION:-15}
rounds=${BENCH_ROUNDS:-1}
clients_list=${BENCH_CLIENTS:-1 8 64}
workloads=${BENCH_WORKLOADS:-select-simple select-prepared tpcb}
upstream=${BENCH_UPSTREAM:-tcp}
scale=${BENCH_SCALE:-10}
threads=${BENCH_THREADS:-2}
workers=${BENCH_WORKERS:-$cores}
keep=${BENCH_KEEP:-0}
baseline_arg=${BENCH_BASELINE:-}
if [ "${BENCH_SESSIONS:-1}" = 1 ]; then
	own_session=(setsid) # execs the command when it is not a group leader, so $! stays its pid
else
	own_session=()
fi
targets=(direct forwarder pgbouncer foreshard)
[ -z "$baseline_arg" ] || targets+=(baseline)

for v in duration rounds scale threads workers; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: ${v} must be a positive integer" >&2; exit 2; }
done
max_clients=0
for c in $clients_list; do
	[[ $c =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_CLIENTS: $c is not a positive integer" >&2; exit 2; }
	[ "$c" -le 200 ] || { echo "bench: BENCH_CLIENTS: $c is above 200 (max_connections is 300)" >&2; exit 2; }
	((c > max_clients)) && max_clients=$c
done
[ "$max_clients" -gt 0 ] || { echo "bench: BENCH_CLIENTS is empty" >&2; exit 2; }
nworkloads=0
for w in $workloads; do
	case "$w" in
	select-simple | select-prepared | tpcb) nworkloads=$((nworkloads + 1)) ;;
	*) echo "bench: BENCH_WORKLOADS: unknown workload $w" >&2; exit 2 ;;
	esac
done
[ "$nworkloads" -gt 0 ] || { echo "bench: BENCH_WORKLOADS is empty" >&2; exit 2; }
case "$upstream" in
tcp | unix) ;;
*) echo "bench: BENCH_UPSTREAM must be tcp or unix" >&2; exit 2 ;;
esac
for cmd in pgbench psql pgbouncer; do
	command -v "$cmd" >/dev/null || { echo "bench: $cmd not found (apt-get install postgresql-client-15 pgbouncer)" >&2; exit 2; }
done
build=$(cd "$build_arg" 2>/dev/null && pwd) || { echo "bench: build directory $build_arg not found" >&2; exit 2; }
daemon=$build/foreshard
fwd=$build/bench/fs-fwd
baseline_daemon=""
if [ -n "$baseline_arg" ]; then
	baseline_daemon=$(cd "$baseline_arg" 2>/dev/null && pwd)/foreshard ||
		{ echo "bench: BENCH_BASELINE: directory $baseline_arg not found" >&2; exit 2; }
fi
for f in "$daemon" "$fwd" $baseline_daemon; do
	[ -x "$f" ] || { echo "bench: $f not found (cmake --build $build)" >&2; exit 2; }
done

say() { printf '%s\n' "bench: $*" >&2; }

source "$src/tools/shlib.sh"

scratch_setup /tmp/foreshard-proxybench.XXXXXX # PgBouncer, too, runs as postgres when we are root
pgbdir=$tmp/pgbouncer
rundir=$tmp/runs
mkdir -p "$pgbdir" "$rundir"
pgb_port=$(free_port "$pg_port" "$fs_port" "$ctl_port")
fwd_port=$(free_port "$pg_port" "$fs_port" "$ctl_port" "$pgb_port")
base_port=$(free_port "$pg_port" "$fs_port" "$ctl_port" "$pgb_port" "$fwd_port")
base_ctl_port=$(free_port "$pg_port" "$fs_port" "$ctl_port" "$pgb_port" "$fwd_port" "$base_port")
declare -A port=([direct]=$pg_port [forwarder]=$fwd_port [pgbouncer]=$pgb_port [foreshard]=$fs_port
	[baseline]=$base_port)
declare -A ctl=([foreshard]=$ctl_port [baseline]=$base_ctl_port)
declare -A pid=()
pg_started=0

console() {
	PGCONNECT_TIMEOUT=3 timeout 10 psql -X -At -h "$ctldir" -p "$ctl_port" foreshard -c "$1" 2>&1
}

# Stops one started process: foreshard and the baseline through their consoles, the others by
# SIGTERM and, 5 s later, SIGKILL.
stop_target() {
	local name=$1 p=${pid[$1]:-}
	[ -n "$p" ] || return 0
	case "$name" in
	foreshard | baseline) fs_stop "$p" "$ctldir" "${ctl[$name]}" ;;
	*)
		kill -TERM "$p" 2>/dev/null || true
		gone_within "$p" 25 || kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
		;;
	esac
	unset "pid[$name]"
}

stop_all() {
	for t in baseline foreshard pgbouncer forwarder; do
		stop_target "$t"
	done
}
scratch_trap stop_all

# Waits until a target answers SELECT 1 over TCP; exits if its process ends first (showing its
# log) or it does not answer within 30 s.
wait_ready() {
	wait_up "${pid[$1]}" "$2" 150 answers "${port[$1]}" || exit 2
}

say "starting a throwaway PostgreSQL 15 on 127.0.0.1:$pg_port (socket in $pgdir)"
start_scratch_pg
say "pgbench -i -s $scale"
pgbench_init "$pg_port" "$scale" "$tmp/init.log" || exit 2

# What the proxies connect to: the address, or the socket directory (which names the socket
# .s.PGSQL.<port> for foreshard, PgBouncer and fs-fwd alike).
if [ "$upstream" = unix ]; then
	up_host=$pgdir
else
	up_host=127.0.0.1
fi

say "starting fs-fwd on 127.0.0.1:$fwd_port ($workers threads, upstream $up_host)"
"${own_session[@]}" "$fwd" "$fwd_port" "$up_host" "$pg_port" "$workers" >"$tmp/forwarder.log" 2>&1 &
pid[forwarder]=$!
wait_ready forwarder "$tmp/forwarder.log"

# PgBouncer: every client of a run gets its own server connection (session mode, a pool as
# large as the most clients), so it is compared with the other targets at equal concurrency.
say "starting PgBouncer $(pgbouncer --version | head -1 | awk '{ print $2 }') on 127.0.0.1:$pgb_port (session mode, upstream $up_host)"
start_pgbouncer "$pgbdir" "$pgb_port" "$up_host" "$max_clients" "${own_session[@]}"
pid[pgbouncer]=$pgbouncer_pid
wait_ready pgbouncer "$pgbdir/stdout.log"

# Starts target NAME (foreshard or baseline) from DAEMON.
start_foreshard() {
	local name=$1 daemon=$2
	{
		echo "# Written by bench/proxy.sh: observe mode profiles and forecasts but never changes the schema."
		fs_conf_base "${port[$name]}" "$up_host" "${ctl[$name]}"
		cat <<CONF
workers = $workers
log_level = warn
mode = observe
CONF
	} >"$tmp/$name.conf"
	say "starting $name ($daemon) on 127.0.0.1:${port[$name]} (observe mode, $workers workers, upstream $up_host)"
	"${own_session[@]}" "$daemon" -c "$tmp/$name.conf" >"$tmp/$name.log" 2>&1 &
	pid[$name]=$!
	wait_ready "$name" "$tmp/$name.log"
}
start_foreshard foreshard "$daemon"
[ -z "$baseline_daemon" ] || start_foreshard baseline "$baseline_daemon"

# Prints "n avg_ms p99_ms" over the transactions logged in pgbench's per-transaction logs
# (third field: elapsed microseconds; "failed" or "skipped" lines are not latencies).
latency() {
	awk '$3 ~ /^[0-9]+$/ { print $3 }' "$@" | sort -n |
		awk '{ v[NR] = $1; s += $1 }
		     END {
			if (NR == 0) { print "0 null null"; exit }
			r = int((99 * NR + 99) / 100)
			printf "%d %.3f %.3f\n", NR, s / NR / 1000, v[r] / 1000
		     }'
}

# CPU time of process $1 so far, over all its threads, in clock ticks: "user system".
cpu_ticks() {
	# the command name in field 2 is parenthesised and may hold spaces: cut up to ") "
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12, $13 }'
}
clk_tck=$(getconf CLK_TCK)

# Runs one pgbench; prints "tps avg_ms p99_ms cpu_us_per_tx user_us_per_tx" (the last two
# "null" for direct).
run_pgbench() {
	local target=$1 workload=$2 clients=$3 name=$4 j=$threads tps failed stats txs cpu0=""
	local cpu="null null"
	local out=$rundir/$name.out logdir=$rundir/$name.tx
	local -a mode
	case "$workload" in
	select-simple) mode=(-S -M simple) ;;
	select-prepared) mode=(-S -M prepared) ;;
	tpcb) mode=(-M simple) ;;
	esac
	((j <= clients)) || j=$clients
	if [ "$workload" = tpcb ]; then
		psql -X -q -h 127.0.0.1 -p "$pg_port" -U foreshard foreshard \
			-c "TRUNCATE pgbench_history" -c "VACUUM pgbench_branches, pgbench_tellers" \
			>/dev/null
	fi
	mkdir -p "$logdir"
	[ "$target" = direct ] || cpu0=$(cpu_ticks "${pid[$target]}")
	# setsid --wait: pgbench's exit status, and nothing left running
	PGSSLMODE=disable "${own_session[@]}" ${own_session:+--wait} pgbench "${mode[@]}" -n -c "$clients" -j "$j" -T "$duration" \
		--log --log-prefix="$logdir/tx" \
		-h 127.0.0.1 -p "${port[$target]}" -U foreshard foreshard >"$out" 2>&1 || {
		say "pgbench against $target failed:"
		sed 's/^/    /' "$out" >&2
		return 1
	}
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out")
	[ -n "$tps" ] || { say "no tps in pgbench output:"; sed 's/^/    /' "$out" >&2; return 1; }
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
	[ "${failed:-0}" -eq 0 ] || say "warning: $failed failed transactions in $name"
	txs=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
	if [ -n "$cpu0" ] && [ "${txs:-0}" -gt 0 ]; then
		cpu=$(awk -v t0="$cpu0" -v t1="$(cpu_ticks "${pid[$target]}")" -v hz="$clk_tck" -v n="$txs" \
			'BEGIN { split(t0, a, " "); split(t1, b, " "); us = 1e6 / hz / n
				 printf "%.2f %.2f", (b[1] + b[2] - a[1] - a[2]) * us, (b[1] - a[1]) * us }')
	fi
	stats=$(latency "$logdir"/tx.*)
	rm -rf "$logdir"
	echo "$tps ${stats#* } $cpu"
}

# Results, keyed "workload/clients/target": space-separated values, one per round.
declare -A r_tps=() r_avg=() r_p99=() r_cpu=() r_usr=()
nclients=$(wc -w <<<"$clients_list")
nruns=$((nworkloads * nclients * ${#targets[@]} * rounds))
say "$nruns runs of ${duration}s, about $((nruns * (duration + 2) / 60 + 1)) minutes"
cfg=0
for w in $workloads; do
	for c in $clients_list; do
		for ((r = 1; r <= rounds; r++)); do
			for ((i = 0; i < ${#targets[@]}; i++)); do
				t=${targets[(i + cfg + r - 1) % ${#targets[@]}]}
				key=$w/$c/$t
				say "$w, $c clients, round $r/$rounds: $t"
				res=$(run_pgbench "$t" "$w" "$c" "$w-c$c-r$r-$t") || exit 1
				read -r tps avg p99 cpu usr <<<"$res"
				r_tps[$key]="${r_tps[$key]:-} $tps"
				r_avg[$key]="${r_avg[$key]:-} $avg"
				r_p99[$key]="${r_p99[$key]:-} $p99"
				r_cpu[$key]="${r_cpu[$key]:-} $cpu"
				r_usr[$key]="${r_usr[$key]:-} $usr"
				for d in "${targets[@]:1}"; do
					kill -0 "${pid[$d]}" 2>/dev/null || { say "$d died during the run"; exit 1; }
				done
			done
		done
		cfg=$((cfg + 1))
	done
done

# Proof that the proxied runs went through the proxies: what each one counted.
fs_queries=$(console "SHOW STATS" | sed -n 's/^queries|//p' || true)
pgb_queries=$(psql -X --csv "host=127.0.0.1 port=$pgb_port user=foreshard dbname=pgbouncer sslmode=disable" \
	-c "SHOW STATS" 2>/dev/null |
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "total_query_count") col = i }
		 NR > 1 && $1 == "foreshard" { print $col }' || true)
say "foreshard relayed ${fs_queries:-an unknown number of} statements, PgBouncer ${pgb_queries:-an unknown number of} (SHOW STATS)"
for t in baseline foreshard pgbouncer forwarder; do
	stop_target "$t"
done

# Mean of a space-separated list of numbers ("null" entries skipped), and the list as JSON items.
mean() { awk -v l="$1" 'BEGIN { m = split(l, v, " "); for (i = 1; i <= m; i++) if (v[i] != "null") { s += v[i]; n++ }
			       if (n) printf "%.3f", s / n; else printf "null" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "null" || b == "null" || b == 0) printf "null"; else printf "%.3f", a / b }'; }
join() { awk -v l="$1" 'BEGIN { m = split(l, v, " "); for (i = 1; i <= m; i++) printf "%s%s", (i > 1 ? "," : ""), v[i] }'; }

echo
printf '%-16s %7s  %-10s %12s %10s %10s %10s %11s\n' workload clients target tps avg_ms p99_ms cpu_us/tx \
	user_us/tx
for w in $workloads; do
	for c in $clients_list; do
		for t in "${targets[@]}"; do
			key=$w/$c/$t
			printf '%-16s %7s  %-10s %12.1f %10s %10s %10s %11s\n' "$w" "$c" "$t" \
				"$(mean "${r_tps[$key]}")" "$(mean "${r_avg[$key]}")" "$(mean "${r_p99[$key]}")" \
				"$(mean "${r_cpu[$key]}")" "$(mean "${r_usr[$key]}")"
		done
	done
done
echo
peers=(pgbouncer direct forwarder)
[ -z "$baseline_daemon" ] || peers+=(baseline)
printf '%-16s %7s ' workload clients
printf ' %14s' "${peers[@]/#/fs/}" 'p99 fs/pgb' 'cpu fs/pgb' 'user fs/pgb'
printf '\n'
results=""
declare -A logsum=() rat=()
for t in "${peers[@]}"; do
	logsum[$t]=0
done
nratio=0
for w in $workloads; do
	for c in $clients_list; do
		fs=$(mean "${r_tps[$w/$c/foreshard]}")
		for t in "${peers[@]}"; do
			rat[$t]=$(ratio "$fs" "$(mean "${r_tps[$w/$c/$t]}")")
			logsum[$t]=$(awk -v s="${logsum[$t]}" -v x="${rat[$t]}" \
				'BEGIN { if (s == "null" || x == "null") printf "null"; else printf "%.9f", s + log(x) }')
		done
		nratio=$((nratio + 1))
		p99r=$(ratio "$(mean "${r_p99[$w/$c/foreshard]}")" "$(mean "${r_p99[$w/$c/pgbouncer]}")")
		cpur=$(ratio "$(mean "${r_cpu[$w/$c/foreshard]}")" "$(mean "${r_cpu[$w/$c/pgbouncer]}")")
		usrr=$(ratio "$(mean "${r_usr[$w/$c/foreshard]}")" "$(mean "${r_usr[$w/$c/pgbouncer]}")")
		printf '%-16s %7s ' "$w" "$c"
		for t in "${peers[@]}"; do
			printf ' %14s' "${rat[$t]}"
		done
		printf ' %14s %14s %14s\n' "$p99r" "$cpur" "$usrr"
		entry="{\"workload\": \"$w\", \"clients\": $c"
		for t in "${targets[@]}"; do
			key=$w/$c/$t
			entry+=", \"$t\": {\"tps\": [$(join "${r_tps[$key]}")], \"avg_ms\": [$(join "${r_avg[$key]}")], \"p99_ms\": [$(join "${r_p99[$key]}")], \"cpu_us_tx\": [$(join "${r_cpu[$key]}")], \"user_us_tx\": [$(join "${r_usr[$key]}")], \"tps_mean\": $(mean "${r_tps[$key]}"), \"avg_ms_mean\": $(mean "${r_avg[$key]}"), \"p99_ms_mean\": $(mean "${r_p99[$key]}"), \"cpu_us_tx_mean\": $(mean "${r_cpu[$key]}"), \"user_us_tx_mean\": $(mean "${r_usr[$key]}")}"
		done
		for t in "${peers[@]}"; do
			entry+=", \"fs_$t\": ${rat[$t]}"
		done
		entry+=", \"cpu_fs_pgbouncer\": $cpur, \"user_fs_pgbouncer\": $usrr}"
		results+="${results:+, }$entry"
	done
done
declare -A geo=()
for t in "${peers[@]}"; do
	geo[$t]=$(awk -v s="${logsum[$t]}" -v n="$nratio" 'BEGIN { if (s == "null") printf "null"; else printf "%.3f", exp(s / n) }')
done
printf '%-16s %7s ' geomean ''
geojson=""
for t in "${peers[@]}"; do
	printf ' %14s' "${geo[$t]}"
	geojson+=", \"geomean_fs_$t\": ${geo[$t]}"
done
printf '\n\n'
printf '{"bench": "proxy", "upstream": "%s", "duration_s": %s, "rounds": %s, "scale": %s, "pgbench_threads": %s, "workers": %s, "cores": %s, "results": [%s]%s}\n' \
	"$upstream" "$duration" "$rounds" "$scale" "$threads" "$workers" "$cores" "$results" "$geojson"
