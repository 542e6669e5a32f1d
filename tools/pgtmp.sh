#!/usr/bin/env bash
# Throwaway PostgreSQL 15 for tests and the demo.
#   tools/pgtmp.sh start DIR PORT   initdb in DIR (as the postgres user when run as root),
#                                   listen on 127.0.0.1:PORT and a Unix socket in DIR, create
#                                   users for each auth method, start the server
#   tools/pgtmp.sh stop DIR         fast shutdown, then remove DIR
# PGTMP_MAX_CONNECTIONS (default 300) sets max_connections.
# Users: "foreshard" (trust, superuser), "md5_user"/"md5pass" (md5),
# "scram_user"/"scrampass" (scram-sha-256), "pw_user"/"pwpass" (password).
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
[ -n "$bindir" ] || { echo "pgtmp: PostgreSQL 15 server binaries not found; run tools/deps.sh" >&2; exit 1; }

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }

case "$cmd" in
start)
	port=${3:?port}
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	chmod 700 "$dir"
	as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = ${PGTMP_MAX_CONNECTIONS:-300}
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
log_min_messages = warning
CONF
	cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all md5_user 127.0.0.1/32 md5
host all scram_user 127.0.0.1/32 scram-sha-256
host all pw_user 127.0.0.1/32 password
host all all 127.0.0.1/32 trust
HBA
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
	psql -h "$dir" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 <<SQL
SET password_encryption = 'md5';
CREATE ROLE md5_user LOGIN PASSWORD 'md5pass';
SET password_encryption = 'scram-sha-256';
CREATE ROLE scram_user LOGIN PASSWORD 'scrampass';
CREATE ROLE pw_user LOGIN PASSWORD 'pwpass';
CREATE ROLE foreshard LOGIN SUPERUSER;
-- PostgreSQL's default search_path starts with "\$user": for a role named like foreshard's
-- journal schema, unqualified new tables would land in that schema (see README).
ALTER ROLE foreshard SET search_path = public;
CREATE DATABASE foreshard OWNER foreshard;
GRANT ALL ON DATABASE foreshard TO md5_user, scram_user, pw_user;
SQL
	psql -h "$dir" -p "$port" -U foreshard -d foreshard -q -c \
		"GRANT ALL ON SCHEMA public TO md5_user, scram_user, pw_user"
	;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start DIR PORT | stop DIR" >&2
	exit 2
	;;
esac
