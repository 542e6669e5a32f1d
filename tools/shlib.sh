# shellcheck shell=bash
# Shell helpers shared by the demo, the benchmarks and the integration tests; sourced, not run.

# Prints a TCP port on 127.0.0.1 that nothing listens on and that is not among the arguments.
free_port() {
	local p
	for _ in $(seq 1 200); do
		# below the kernel's ephemeral range (32768-60999), where outgoing connections would
		# collide with a listener
		p=$((10000 + RANDOM % 22000))
		case " $* " in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "no free TCP port found on 127.0.0.1" >&2
	return 1
}

# The scratch directory of the demo or a benchmark and its ports: makes tmp from the mktemp
# template TEMPLATE, readable by the postgres user (which runs PostgreSQL when we are root), with
# ctl/ in it, and sets pgdir=$tmp/pg, ctldir=$tmp/ctl and three free ports pg_port, fs_port and
# ctl_port (PostgreSQL, foreshard, its console).
#   scratch_setup TEMPLATE
# shellcheck disable=SC2034 # the variables are the caller's
scratch_setup() {
	tmp=$(mktemp -d "$1")
	chmod 755 "$tmp"
	pgdir=$tmp/pg
	ctldir=$tmp/ctl
	mkdir -p "$ctldir"
	pg_port=$(free_port)
	fs_port=$(free_port "$pg_port")
	ctl_port=$(free_port "$pg_port" "$fs_port")
}

# Starts the throwaway PostgreSQL 15 of scratch_setup (in $pgdir, on 127.0.0.1:$pg_port) and sets
# pg_started=1 for finish_tmp; exits the script with status 2 when it does not start.
# shellcheck disable=SC2034 # pg_started is the caller's
start_scratch_pg() {
	bash "$(dirname "${BASH_SOURCE[0]}")/pgtmp.sh" start "$pgdir" "$pg_port" || exit 2
	pg_started=1
}

# Installs a scratch script's exit trap: on exit, or on SIGINT or SIGTERM (status 130), it runs
# the caller's function STOP (which stops what the script started), then finish_tmp on $tmp,
# $keep (0 when unset), $pgdir and $pg_started, and exits with the script's status.
#   scratch_trap STOP
scratch_trap() {
	scratch_stop=$1
	trap scratch_exit EXIT
	trap 'exit 130' INT TERM
}

scratch_exit() {
	local rc=$?
	trap - EXIT INT TERM
	"$scratch_stop"
	finish_tmp "$tmp" "${keep:-0}" "$pgdir" "$pg_started"
	exit "$rc"
}

# The lines every scratch configuration of foreshard starts with: listening on 127.0.0.1:PORT
# (default fs_port) in front of the scratch PostgreSQL, reached at SERVER_HOST (default 127.0.0.1;
# a socket directory for a Unix-socket upstream), its console in ctldir on CTL_PORT (default
# ctl_port), managing through the superuser foreshard. A script appends its own settings.
#   fs_conf_base [PORT [SERVER_HOST [CTL_PORT]]]
# shellcheck disable=SC2120 # the arguments are optional
fs_conf_base() {
	cat <<CONF
[foreshard]
listen_addr = 127.0.0.1
listen_port = ${1:-$fs_port}
server_host = ${2:-127.0.0.1}
server_port = $pg_port
control_dir = $ctldir
control_port = ${3:-$ctl_port}
manage_dsn = 'host=127.0.0.1 port=$pg_port user=foreshard dbname=foreshard sslmode=disable'
CONF
}

# Starts Debian's PgBouncer in session mode on 127.0.0.1:PORT in front of the scratch PostgreSQL
# (reached at SERVER_HOST, an address or its socket directory), for user foreshard with trust
# authentication and a pool of MAX_CLIENTS + 10 server connections, so that every client gets
# its own. Its files go to DIR. It runs as the postgres user when we are root, since it refuses
# root. Sets pgbouncer_pid; PREFIX (optional, e.g. setsid) is put before the command.
#   start_pgbouncer DIR PORT SERVER_HOST MAX_CLIENTS [PREFIX...]
# shellcheck disable=SC2034 # pgbouncer_pid is the caller's
start_pgbouncer() {
	local dir=$1 port=$2 host=$3 max=$4 as=()
	shift 4
	mkdir -p "$dir"
	cat >"$dir/pgbouncer.ini" <<INI
; Written by tools/shlib.sh (start_pgbouncer).
[databases]
foreshard = host=$host port=$pg_port dbname=foreshard
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = foreshard
pool_mode = session
max_client_conn = $((max + 50))
default_pool_size = $((max + 10))
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
log_connections = 0
log_disconnections = 0
ignore_startup_parameters = extra_float_digits
INI
	echo '"foreshard" ""' >"$dir/userlist.txt"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres: "$dir"
		# setpriv execs (runuser would stay as the parent), so $! is PgBouncer itself
		as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
	fi
	"$@" "${as[@]}" pgbouncer "$dir/pgbouncer.ini" >"$dir/stdout.log" 2>&1 &
	pgbouncer_pid=$!
}

# Runs CMD (with its arguments) every 0.2 s until it succeeds, for at most TRIES tries, while the
# process PID started by this shell lives. Fails, saying why on stderr, when the process exits
# first (its log LOG is shown; the process is named after the log file) or the tries run out.
#   wait_up PID LOG TRIES CMD [ARG...]
wait_up() {
	local pid=$1 log=$2 tries=$3 name
	shift 3
	name=$(basename "$log" .log)
	for _ in $(seq 1 "$tries"); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$name exited during start-up:" >&2
			sed 's/^/    /' "$log" >&2
			return 1
		fi
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "$name did not come up within $((tries / 5)) s" >&2
	return 1
}

# Succeeds when the server on 127.0.0.1:PORT (PostgreSQL or a proxy in front of it) runs a query
# for user and database foreshard.
answers() {
	psql -X -At "host=127.0.0.1 port=$1 user=foreshard dbname=foreshard sslmode=disable" \
		-c "SELECT 1" >/dev/null 2>&1
}

# Fills pgbench's tables at SCALE in database foreshard on 127.0.0.1:PORT; its output goes to LOG,
# and is shown on stderr when it fails.
#   pgbench_init PORT SCALE LOG
pgbench_init() {
	pgbench -i -q -s "$2" -h 127.0.0.1 -p "$1" -U foreshard foreshard >"$3" 2>&1 || {
		cat "$3" >&2
		return 1
	}
}

# Stops a foreshard started in the background by this shell the way an operator would: SHUTDOWN
# on its console, SIGTERM if it is still there 10 s later, SIGKILL after 5 s more; then reaps it.
# Does nothing when PID is empty.
#   fs_stop PID CTL_DIR CTL_PORT
fs_stop() {
	local pid=$1 ctldir=$2 ctlport=$3
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		PGCONNECT_TIMEOUT=3 timeout 10 psql -X -At -h "$ctldir" -p "$ctlport" foreshard \
			-c SHUTDOWN >/dev/null 2>&1 || true
		if ! gone_within "$pid" 50; then
			echo "foreshard (pid $pid) did not stop after SHUTDOWN; sending SIGTERM" >&2
			kill -TERM "$pid" 2>/dev/null || true
			gone_within "$pid" 25 || kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
}

# Sends SIGNAL to process PID (started by this shell) and reaps it; nothing when PID is empty.
#   end_process PID SIGNAL
end_process() {
	[ -n "$1" ] || return 0
	kill -"$2" "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# Succeeds once process PID is gone, checking every 0.2 s for at most TRIES checks.
gone_within() {
	for _ in $(seq 1 "$2"); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.2
	done
	return 1
}

# The end of a script's exit trap: stops the throwaway PostgreSQL in PGDIR when STARTED is 1,
# then removes the temporary directory DIR, or keeps it (saying so on stderr) when KEEP is 1.
#   finish_tmp DIR KEEP PGDIR STARTED
finish_tmp() {
	[ "$4" -ne 1 ] || bash "$(dirname "${BASH_SOURCE[0]}")/pgtmp.sh" stop "$3" || true
	if [ "$2" = 1 ]; then
		echo "kept $1" >&2
	else
		rm -rf "$1"
	fi
}
