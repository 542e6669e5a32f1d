#!/usr/bin/env bash
# Benchmark: the system calls each proxy makes per transaction, counted by strace. Not part of
# the test suite.
#
#   bash bench/syscalls.sh [BUILD_DIR]   (default: build-release; it needs foreshard and
#                                         bench/fs-fwd built there)
#
# Starts a throwaway PostgreSQL 15 (tools/pgtmp.sh), initialises pgbench at scale 1, and starts
# three proxies in front of it, each with one thread: the bare forwarder (bench/fwd.c, the least
# a relay can do), Debian's PgBouncer (session mode) and foreshard (observe mode: every
# statement lexed and profiled). For each proxy and protocol (select-only, simple and prepared)
# it attaches `strace -f -c` to the proxy, runs `pgbench -n -S -c BENCH_CLIENTS -j 2 -t BENCH_TX`
# through it, detaches and divides each system call's count by the transactions run. Tracing
# slows every call, so only the counts mean anything here, not the times. The reads and writes
# per transaction are fixed by how a proxy relays; the epoll_wait calls depend on timing (how
# many connections each wake-up finds ready) and move from run to run.
#
# Prints one table per protocol (the calls made at least 0.05 times per transaction, and all of
# them together) and, as its last line, one JSON object:
#   {"bench": "syscalls", "clients", "tx_per_client", "transactions",
#    "results": [{"target", "protocol", "per_tx": {"sendto": n, ..., "total": n}}, ...]}
#
# Environment (all optional):
#   BENCH_CLIENTS=8   pgbench clients      BENCH_TX=2000   transactions per client
#   BENCH_KEEP=1      keep the temporary directory (strace summaries, logs)
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_arg=${1:-$src/build-release}
clients=${BENCH_CLIENTS:-8}
tx=${BENCH_TX:-2000}
keep=${BENCH_KEEP:-0}
for v in clients tx; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_${v^^} must be a positive integer" >&2; exit 2; }
done
[ "$clients" -le 200 ] || { echo "bench: BENCH_CLIENTS is above 200 (max_connections is 300)" >&2; exit 2; }
for cmd in pgbench psql pgbouncer strace; do
	command -v "$cmd" >/dev/null || { echo "bench: $cmd not found (apt-get install postgresql-client-15 pgbouncer strace)" >&2; exit 2; }
done
build=$(cd "$build_arg" 2>/dev/null && pwd) || { echo "bench: build directory $build_arg not found" >&2; exit 2; }
for f in "$build/foreshard" "$build/bench/fs-fwd"; do
	[ -x "$f" ] || { echo "bench: $f not found (cmake --build $build)" >&2; exit 2; }
done

say() { printf '%s\n' "bench: $*" >&2; }

source "$src/tools/shlib.sh"

scratch_setup /tmp/foreshard-syscalls.XXXXXX # PgBouncer runs as postgres when we are root
pgb_port=$(free_port "$pg_port" "$fs_port" "$ctl_port")
fwd_port=$(free_port "$pg_port" "$fs_port" "$ctl_port" "$pgb_port")
declare -A port=([forwarder]=$fwd_port [pgbouncer]=$pgb_port [foreshard]=$fs_port)
declare -A pid=()
strace_pid=""
pg_started=0

stop_all() {
	end_process "$strace_pid" INT
	end_process "${pid[forwarder]:-}" TERM
	end_process "${pid[pgbouncer]:-}" TERM
	fs_stop "${pid[foreshard]:-}" "$ctldir" "$ctl_port"
}
scratch_trap stop_all

# Waits until target NAME answers over TCP; exits if it ends first or takes over 30 s.
wait_ready() {
	wait_up "${pid[$1]}" "$2" 150 answers "${port[$1]}" || exit 2
}

say "starting a throwaway PostgreSQL 15 on 127.0.0.1:$pg_port"
start_scratch_pg
pgbench_init "$pg_port" 1 "$tmp/init.log" || exit 2

"$build/bench/fs-fwd" "$fwd_port" 127.0.0.1 "$pg_port" 1 >"$tmp/forwarder.log" 2>&1 &
pid[forwarder]=$!
wait_ready forwarder "$tmp/forwarder.log"
start_pgbouncer "$tmp/pgbouncer" "$pgb_port" 127.0.0.1 "$clients"
pid[pgbouncer]=$pgbouncer_pid
wait_ready pgbouncer "$tmp/pgbouncer/stdout.log"
{
	echo "# Written by bench/syscalls.sh: one worker, observe mode (profiles, never changes the schema)."
	fs_conf_base
	printf '%s\n' "workers = 1" "log_level = warn" "mode = observe"
} >"$tmp/foreshard.conf"
"$build/foreshard" -c "$tmp/foreshard.conf" >"$tmp/foreshard.log" 2>&1 &
pid[foreshard]=$!
wait_ready foreshard "$tmp/foreshard.log"

# Counts the system calls of target NAME during one pgbench run with PROTOCOL into OUT
# (strace -c's summary).
count() {
	local name=$1 protocol=$2 out=$3 run
	strace -f -c -q -o "$out" -p "${pid[$name]}" 2>"$out.err" &
	strace_pid=$!
	# strace attaches to every thread before the first call it counts; give it time to
	sleep 1
	run=$(PGSSLMODE=disable pgbench -n -S -M "$protocol" -c "$clients" -j 2 -t "$tx" \
		-h 127.0.0.1 -p "${port[$name]}" -U foreshard foreshard 2>&1) || {
		say "pgbench through $name failed:"
		printf '%s\n' "$run" | sed 's/^/    /' >&2
		exit 1
	}
	grep -Eq '^number of transactions actually processed: ([0-9]+)/\1$' <<<"$run" ||
		{ say "pgbench through $name did not complete every transaction"; exit 1; }
	end_process "$strace_pid" INT
	strace_pid=""
	[ -s "$out" ] || { say "strace wrote no summary:"; sed 's/^/    /' "$out.err" >&2; exit 1; }
}

transactions=$((clients * tx))
json=""
for protocol in simple prepared; do
	declare -A per=()
	names=""
	for name in forwarder pgbouncer foreshard; do
		say "$name, $protocol protocol: strace during pgbench -S -c $clients -t $tx"
		count "$name" "$protocol" "$tmp/strace.$name.$protocol"
		# strace -c: "% time seconds usecs/call calls [errors] syscall"; calls is the 4th
		# field, the name the last; the total line's name is "total"
		while read -r sc n; do
			per[$name.$sc]=$n
			case " $names " in *" $sc "*) ;; *) names+=" $sc" ;; esac
		done < <(awk -v t="$transactions" '$1 ~ /^[0-9.]+$/ && NF >= 5 {
				printf "%s %.3f\n", $NF, $4 / t }' "$tmp/strace.$name.$protocol")
	done
	echo
	echo "$protocol protocol: system calls per transaction ($transactions transactions, $clients clients)"
	printf '  %-14s %10s %10s %10s\n' call forwarder pgbouncer foreshard
	for sc in $names; do
		[ "$sc" != total ] || continue
		awk -v a="${per[forwarder.$sc]:-0}" -v b="${per[pgbouncer.$sc]:-0}" \
			-v c="${per[foreshard.$sc]:-0}" 'BEGIN { exit !(a >= 0.05 || b >= 0.05 || c >= 0.05) }' ||
			continue
		printf '  %-14s %10s %10s %10s\n' "$sc" "${per[forwarder.$sc]:-0}" \
			"${per[pgbouncer.$sc]:-0}" "${per[foreshard.$sc]:-0}"
	done
	printf '  %-14s %10s %10s %10s\n' "all" "${per[forwarder.total]:-0}" \
		"${per[pgbouncer.total]:-0}" "${per[foreshard.total]:-0}"
	for name in forwarder pgbouncer foreshard; do
		calls=""
		for sc in $names; do
			[ -z "${per[$name.$sc]:-}" ] || calls+="${calls:+, }\"$sc\": ${per[$name.$sc]}"
		done
		json+="${json:+, }{\"target\": \"$name\", \"protocol\": \"$protocol\", \"per_tx\": {$calls}}"
	done
	unset per
done
echo
printf '{"bench": "syscalls", "clients": %s, "tx_per_client": %s, "transactions": %s, "results": [%s]}\n' \
	"$clients" "$tx" "$transactions" "$json"
