#!/usr/bin/env bash
# Benchmark: user-space instructions the relay executes, counted by callgrind. Not part of the
# test suite.
#
#   bash bench/relay_profile.sh [BUILD_DIR ...]   (default: build-release)
#
# For each build in turn: starts a throwaway PostgreSQL 15 (tools/pgtmp.sh) once, initialises
# pgbench at scale 10, runs that build's foreshard (1 worker, observe mode) under
# `valgrind --tool=callgrind`, and drives a fixed load through it with pgbench -c 4 -j 2:
# BENCH_TX select-only transactions per client with the simple protocol, as many with the
# prepared one, then BENCH_TX / 4 TPC-B transactions per client (7 statements each). Instruction
# counts do not depend on how the machine shares its cores, so two builds compare exactly where
# tps and CPU times swing; what they leave out is the kernel, where most of a relay's time goes
# (docs/benchmarks.md). Prints per build the instructions in all, per statement (start-up and
# dynamic linking included) and per library (those with at least 0.1% of them), and as its last
# line one JSON object:
#   {"bench": "relay-profile", "tx_per_client", "statements",
#    "builds": [{"build", "instructions", "per_statement", "objects": {"foreshard": n, ...}}]}
#
# Environment (all optional):
#   BENCH_TX=2000   select-only transactions per client and protocol
#   BENCH_KEEP=1    keep the temporary directory (callgrind outputs, logs)
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tx=${BENCH_TX:-2000}
keep=${BENCH_KEEP:-0}
[[ $tx =~ ^[1-9][0-9]*$ ]] && [ "$tx" -ge 4 ] || { echo "bench: BENCH_TX must be an integer of at least 4" >&2; exit 2; }
for cmd in pgbench psql valgrind callgrind_annotate; do
	command -v "$cmd" >/dev/null || { echo "bench: $cmd not found (apt-get install postgresql-client-15 valgrind)" >&2; exit 2; }
done
builds=()
for b in "${@:-$src/build-release}"; do
	d=$(cd "$b" 2>/dev/null && pwd) || { echo "bench: build directory $b not found" >&2; exit 2; }
	[ -x "$d/foreshard" ] || { echo "bench: $d/foreshard not found (cmake --build $d)" >&2; exit 2; }
	builds+=("$d")
done

say() { printf '%s\n' "bench: $*" >&2; }

source "$src/tools/shlib.sh"

scratch_setup /tmp/foreshard-relayprofile.XXXXXX
vg_pid=""
pg_started=0

stop_all() { end_process "$vg_pid" KILL; }
scratch_trap stop_all

say "starting a throwaway PostgreSQL 15 on 127.0.0.1:$pg_port"
start_scratch_pg
pgbench_init "$pg_port" 10 "$tmp/init.log" || exit 2
{
	echo "# Written by bench/relay_profile.sh: one worker, observe mode (profiles, never changes the schema)."
	fs_conf_base
	printf '%s\n' "workers = 1" "log_level = warn" "mode = observe"
} >"$tmp/foreshard.conf"

# Runs pgbench through foreshard with the given options; fails unless every transaction ran.
load() {
	local out
	out=$(PGSSLMODE=disable pgbench -n "$@" -c 4 -j 2 -h 127.0.0.1 -p "$fs_port" -U foreshard foreshard 2>&1) &&
		grep -Eq '^number of transactions actually processed: ([0-9]+)/\1$' <<<"$out" || {
		say "pgbench $* through foreshard did not complete every transaction:"
		printf '%s\n' "$out" | sed 's/^/    /' >&2
		return 1
	}
}

statements=$((4 * (tx + tx + tx / 4 * 7)))
json=""
for b in "${builds[@]}"; do
	cg=$tmp/callgrind.$(basename "$b").$RANDOM
	say "$b: foreshard under callgrind, $statements statements"
	valgrind --tool=callgrind --callgrind-out-file="$cg" "$b/foreshard" -c "$tmp/foreshard.conf" \
		>"$tmp/foreshard.log" 2>&1 &
	vg_pid=$!
	# under valgrind start-up takes seconds: allow 60 s
	wait_up "$vg_pid" "$tmp/foreshard.log" 300 answers "$fs_port" || exit 2
	load -S -M simple -t "$tx" || exit 1
	load -S -M prepared -t "$tx" || exit 1
	load -M simple -t $((tx / 4)) || exit 1
	# SIGINT: foreshard exits fast, and callgrind writes its counts on exit
	kill -INT "$vg_pid"
	wait "$vg_pid" || true
	vg_pid=""
	[ -s "$cg" ] || { say "callgrind wrote no output:"; sed 's/^/    /' "$tmp/foreshard.log" >&2; exit 1; }
	# one line per function: "count (pct) file:function [object]"; sum the counts per object
	objs=$(callgrind_annotate --threshold=100 "$cg" 2>/dev/null |
		awk '/^ *[0-9,]+ \(/ && $NF ~ /^\[/ {
			n = $1; gsub(",", "", n); o = $NF; gsub(/^\[|\]$/, "", o); sub(/.*\//, "", o)
			sub(/\.so.*/, "", o); t[o] += n
		     }
		     END { for (o in t) printf "%s %d\n", o, t[o] }' | sort -k2,2nr)
	total=$(awk '{ s += $2 } END { print s + 0 }' <<<"$objs")
	# the libraries that matter: at least 0.1% of the whole
	objs=$(awk -v t="$total" '$2 * 1000 >= t' <<<"$objs")
	echo
	printf '%s\n' "$b"
	printf '  %-24s %14s\n' "instructions in all" "$total"
	printf '  %-24s %14s\n' "per statement" "$((total / statements))"
	while read -r o n; do
		printf '  %-24s %14s\n' "$o" "$n"
	done <<<"$objs"
	objjson=$(awk '{ printf "%s\"%s\": %s", (NR > 1 ? ", " : ""), $1, $2 }' <<<"$objs")
	json+="${json:+, }{\"build\": \"$b\", \"instructions\": $total, \"per_statement\": $((total / statements)), \"objects\": {$objjson}}"
done
echo
printf '{"bench": "relay-profile", "tx_per_client": %s, "statements": %s, "builds": [%s]}\n' \
	"$tx" "$statements" "$json"
