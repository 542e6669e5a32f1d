#!/usr/bin/env bash
# The unit tests under valgrind (memcheck): no read of uninitialised or freed memory, no memory
# definitely or indirectly lost, in any test. AddressSanitizer covers the rest of what memcheck
# does, but not uninitialised reads, which make results differ from run to run.
#
#   bash tools/valgrind_unit.sh [BUILD_DIR]     (default build/, a Debug build)
#
# Runs every criterion executable that CTest labels "unit" (the shell-driven CLI test is left
# out) with valgrind following criterion's forked test processes, one log per process, and
# fails on any log with an error in it, printing the log. About 10 minutes on 2 cores.
set -euo pipefail

FS_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${1:-$FS_SRC/build}" && pwd)
command -v valgrind >/dev/null || { echo "valgrind_unit.sh: valgrind not installed" >&2; exit 2; }
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

mapfile -t tests < <(cd "$BUILD" && ctest -N -L unit | sed -n 's/^ *Test *#[0-9]*: \(unit_[a-z0-9_]*\)$/\1/p')
[ "${#tests[@]}" -gt 0 ] || { echo "valgrind_unit.sh: no unit tests in $BUILD" >&2; exit 2; }
failed=0
for t in "${tests[@]}"; do
	start=$EPOCHREALTIME
	mkdir "$logs/$t"
	# criterion's own exit status says whether the tests passed; the logs say whether memory was
	# used correctly (valgrind's exit code would only reach criterion as a crashed test). The
	# system's programs a test runs (the shell and openssl of tools/certs.sh) are not ours to
	# check, and under valgrind they would take minutes.
	if ! valgrind -q --trace-children=yes --trace-children-skip='/usr/*,/bin/*,/sbin/*' \
		--leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --log-file="$logs/$t/%p.log" \
		"$BUILD/tests/$t" --jobs 1 >"$logs/$t/out" 2>&1; then
		echo "FAIL: $t did not pass under valgrind:" >&2
		tail -20 "$logs/$t/out" >&2
		failed=1
	fi
	for log in "$logs/$t"/*.log; do
		if [ -s "$log" ]; then
			echo "FAIL: valgrind reports for $t:" >&2
			cat "$log" >&2
			failed=1
		fi
	done
	printf '%-40s %6.1f s\n' "$t" "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
done
[ "$failed" = 0 ] || exit 1
echo "valgrind: ${#tests[@]} unit test programs clean"
