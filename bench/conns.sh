#!/usr/bin/env bash
# Benchmark: many connections at once. Starts a throwaway PostgreSQL (max_connections 2100)
# and foreshard in front of it, opens N client connections through foreshard at the same time
# (default 2000), runs one query on each while all are open, and prints one JSON line with how
# many were served and the resident memory foreshard gained per held connection. Not a test.
#
#   bash bench/conns.sh [BUILD_DIR] [N]      (default build-release, 2000)
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$src/build-release}" && pwd)
n=${2:-2000}
source "$src/tools/shlib.sh"
for f in "$build/foreshard" "$build/bench/fs-conns"; do
	[ -x "$f" ] || { echo "conns: $f not built (cmake --build $build)" >&2; exit 2; }
done

scratch_setup /tmp/foreshard-conns.XXXXXX
fs_pid=""
pg_started=0
stop_all() { end_process "$fs_pid" INT; }
scratch_trap stop_all

ulimit -n "$(ulimit -Hn)"
PGTMP_MAX_CONNECTIONS=$((n + 100)) start_scratch_pg >/dev/null
"$build/foreshard" --set listen_port="$fs_port" --set server_port="$pg_port" \
	--set control_dir="$ctldir" --set control_port="$ctl_port" --set mode=observe \
	--set max_client_conn=$((n + 100)) --set log_level=warn \
	--set manage_dsn="host=127.0.0.1 port=$pg_port dbname=foreshard user=foreshard" \
	2>"$tmp/foreshard.log" &
fs_pid=$!
for _ in $(seq 1 100); do
	psql -X -At -h "$ctldir" -p "$ctl_port" foreshard -c 'SHOW STATS' >/dev/null 2>&1 && break
	sleep 0.1
done
echo "conns: $n connections through foreshard (pid $fs_pid) to PostgreSQL on port $pg_port" >&2
"$build/bench/fs-conns" "host=127.0.0.1 port=$fs_port dbname=foreshard user=foreshard" "$n" "$fs_pid"
