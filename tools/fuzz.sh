#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang in build-fuzz and runs each for SECONDS
# seconds (default 60) on a scratch copy of its seed corpus, so that the checked-in corpus never
# changes. Exits non-zero if a target crashes, leaks, times out or fails to start; the
# reproducer is kept in build-fuzz/fuzz-artifacts/<target>/ and the log's tail is printed.
#
#   bash tools/fuzz.sh 60    # FS_FUZZ_TARGETS="parser startup" runs only some; FS_FUZZ_CC=clang
set -euo pipefail

secs=${1:-60}
[[ $secs =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FS_FUZZ_BUILD:-$root/build-fuzz}
targets=${FS_FUZZ_TARGETS:-frontend backend startup parser console}

CC=${FS_FUZZ_CC:-clang-14} cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Fuzz -DFS_FUZZ=ON >/dev/null
cmake --build "$build" -j 2 --target fuzzers

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for t in $targets; do
	bin=$build/tests/fuzz/fuzz_$t
	art=$build/fuzz-artifacts/$t
	log=$build/fuzz-artifacts/$t.log
	mkdir -p "$work/$t" "$art"
	cp -R "$root/tests/fuzz/corpus/$t/." "$work/$t/"
	echo "fuzz: $t for ${secs}s"
	# -timeout: a single input running this long is a hang, reported like a crash
	if "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/" "$work/$t" >"$log" 2>&1; then
		grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$log" |
			sed "s/^/fuzz: $t: /"
	else
		echo "fuzz: $t FAILED (log $log, reproducers in $art/)" >&2
		tail -n 40 "$log" >&2
		failed+=("$t")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz: all targets ran ${secs}s without a crash"
