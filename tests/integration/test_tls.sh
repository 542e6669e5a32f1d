#!/usr/bin/env bash
# TLS on both legs: bad TLS settings stop the start with the key or file named; the client leg in
# each client_tls_sslmode (disable answers 'N'; prefer serves foreshard's own certificate; require
# refuses plain clients with 28000; verify-ca wants a client certificate from client_tls_ca_file;
# verify-full also wants its CN to be the user name), TLS 1.2 as the floor; the server leg in each
# server_tls_sslmode (prefer uses TLS when PostgreSQL offers it, require refuses a server without
# it with 08006, verify-ca/verify-full check PostgreSQL's certificate); tls_passthrough relays the
# client's own TLS session to PostgreSQL unprofiled (and plain clients as before); SCRAM channel
# binding fails cleanly unless both legs present the same certificate; SIGHUP reloads the
# certificate files, keeping the old ones when the new ones are broken; SHOW STATS and SHOW
# CLIENTS tell TLS clients apart. PostgreSQL starts with ssl = off and gets ssl = on half way.
source "$(dirname "$0")/lib.sh"

if [ -n "${FS_TEST_PGHOST:-}" ]; then
	echo "skipped: needs the throwaway PostgreSQL (its ssl setting is switched), not FS_TEST_PGHOST"
	exit 0
fi
PY=/usr/bin/python3
"$PY" -c 'import ssl' 2>/dev/null || fail "python3 with the ssl module is needed"
C=$TEST_DIR/certs
bash "$FS_SRC/tools/certs.sh" "$C" || fail "tools/certs.sh could not make the test certificates"

# A client the raw protocol way, for what psql does not show: the SQLSTATE of a refusal.
# usage: pgerr.py PORT USER [tls [CERT KEY]]; prints "SQLSTATE message" for an ErrorResponse,
# "OK" once authenticated, "N" if TLS was declined, "TLSERROR ..." or "EOF" otherwise.
cat >"$TEST_DIR/pgerr.py" <<'PY'
import socket
import ssl
import struct
import sys

port, user = int(sys.argv[1]), sys.argv[2]
sock = socket.create_connection(("127.0.0.1", port), timeout=15)


def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


try:
    if len(sys.argv) > 3:
        sock.sendall(struct.pack("!ii", 8, 80877103))
        if read_exact(1) != b"S":
            print("N")
            sys.exit(0)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if len(sys.argv) > 5:
            ctx.load_cert_chain(sys.argv[4], sys.argv[5])
        sock = ctx.wrap_socket(sock)
    body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0foreshard\0\0"
    sock.sendall(struct.pack("!i", len(body) + 4) + body)
    while True:
        kind = read_exact(1)
        data = read_exact(struct.unpack("!i", read_exact(4))[0] - 4)
        if kind == b"E":
            fields = {f[:1]: f[1:].decode() for f in data.split(b"\0") if f}
            print(fields.get(b"C"), fields.get(b"M"))
            break
        if kind == b"R":
            code = struct.unpack("!i", data[:4])[0]
            print("OK" if code == 0 else "AUTH %d" % code)
            break
except ssl.SSLError as e:
    print("TLSERROR", e)
except (EOFError, ConnectionError):
    print("EOF")
PY

# psql through foreshard with extra conninfo ("sslmode=require sslcert=..."), 20 s at most.
tsql() {
	local conn=$1
	shift
	timeout 20 psql -X -q -v ON_ERROR_STOP=1 \
		"host=127.0.0.1 port=$FS_PORT user=${PGUSER:-foreshard} dbname=foreshard $conn" "$@"
}

# Whether this session's server leg uses TLS, as PostgreSQL sees it (t or f).
server_ssl() {
	tsql "$1" -At -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
}

# The certificate port $1 presents after an SSLRequest, as "subject" or "fingerprint"; further
# arguments go to s_client. Prints nothing when no TLS session came up.
peer_cert() {
	local what=$1 port=$2
	shift 2
	timeout 10 openssl s_client -connect "127.0.0.1:$port" -starttls postgres "$@" </dev/null 2>/dev/null |
		openssl x509 -noout "-$what" -sha256 2>/dev/null || true
}

fingerprint() {
	openssl x509 -noout -fingerprint -sha256 -in "$1"
}

# Values of column $1 of SHOW CLIENTS, one line per client.
client_col() {
	psql -X -A -h "$FS_CTL_DIR" -p "$FS_CTL_PORT" -d foreshard -c 'SHOW CLIENTS' |
		awk -F'|' -v col="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
			c && NF > 1 { print $c }'
}

# Waits up to 5 s for a SHOW CLIENTS row whose column $1 is $2 (snapshots come once a second).
wait_client() {
	for _ in $(seq 1 50); do
		client_col "$1" | grep -qx "$2" && return 0
		sleep 0.1
	done
	fail "no client with $1 = $2 in SHOW CLIENTS: $(console -c 'SHOW CLIENTS')"
}

# Runs foreshard with the given overrides and expects it to refuse to start with status 2 and a
# message on stderr containing $1.
refused() {
	local want=$1 rc=0
	shift
	timeout 10 "$FS_BUILD/foreshard" -c "$TEST_DIR/refuse.ini" "$@" >/dev/null 2>"$TEST_DIR/err" || rc=$?
	[ "$rc" = 2 ] || fail "foreshard $* exited with status $rc, expected 2 (124: it started): $(cat "$TEST_DIR/err")"
	grep -qF -- "$want" "$TEST_DIR/err" || fail "foreshard $*: the refusal does not mention '$want': $(cat "$TEST_DIR/err")"
}

# Turns ssl on in the throwaway PostgreSQL (reloadable) and waits until new connections use it.
pg_ssl_on() {
	db -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >/dev/null
	for _ in $(seq 1 50); do
		psql -X -At "host=127.0.0.1 port=$PGPORT_DB user=foreshard dbname=foreshard sslmode=require" \
			-c "SELECT 1" >/dev/null 2>&1 && return
		sleep 0.1
	done
	fail "PostgreSQL did not turn ssl on"
}

PROXY_TLS=(--set "client_tls_cert_file=$C/proxy.crt" --set "client_tls_key_file=$C/proxy.key")

start_pg
cp "$C/server.crt" "$C/server.key" "$TEST_DIR/pg/data/"
chown postgres: "$TEST_DIR/pg/data/server.crt" "$TEST_DIR/pg/data/server.key"
chmod 600 "$TEST_DIR/pg/data/server.key"
db -c "ALTER SYSTEM SET ssl_cert_file = 'server.crt'" -c "ALTER SYSTEM SET ssl_key_file = 'server.key'"
cat >"$TEST_DIR/refuse.ini" <<INI
listen_addr = 127.0.0.1
listen_port = $(free_port)
server_host = $PGHOST_TCP
server_port = $PGPORT_DB
control_dir = $TEST_DIR
control_port = $(free_port)
manage_dsn = 'host=$PGHOST_TCP port=$PGPORT_DB dbname=foreshard user=foreshard'
mode = observe
workers = 1
INI

echo "start-up refusals name the key or file at fault"
refused client_tls_cert_file --set client_tls_sslmode=require
refused client_tls_cert_file --set client_tls_sslmode=prefer --set "client_tls_key_file=$C/proxy.key"
refused client_tls_ca_file --set client_tls_sslmode=verify-ca "${PROXY_TLS[@]}"
refused client_tls_ca_file --set client_tls_sslmode=verify-full "${PROXY_TLS[@]}"
refused server_tls_ca_file --set server_tls_sslmode=verify-ca
refused server_tls_ca_file --set server_tls_sslmode=verify-full
refused tls_passthrough --set tls_passthrough=on --set client_tls_sslmode=prefer "${PROXY_TLS[@]}"
refused client_tls_sslmode --set client_tls_sslmode=sometimes
refused "$TEST_DIR/no_such.crt" --set client_tls_sslmode=prefer \
	--set "client_tls_cert_file=$TEST_DIR/no_such.crt" --set "client_tls_key_file=$C/proxy.key"
refused "$TEST_DIR/no_such.key" --set client_tls_sslmode=prefer \
	--set "client_tls_cert_file=$C/proxy.crt" --set "client_tls_key_file=$TEST_DIR/no_such.key"
refused "$TEST_DIR/no_such_ca.crt" --set client_tls_sslmode=verify-ca "${PROXY_TLS[@]}" \
	--set "client_tls_ca_file=$TEST_DIR/no_such_ca.crt"
for p in tlsv1.0 tlsv1.1 all legacy "tlsv1.1,tlsv1.2"; do
	refused "TLS 1.2 is the minimum" --set client_tls_sslmode=prefer "${PROXY_TLS[@]}" --set "client_tls_protocols=$p"
done
refused "TLS 1.2 is the minimum" --set server_tls_protocols=tlsv1.0

echo "PostgreSQL with ssl = off; client_tls_sslmode = disable (the default): TLS is declined"
start_foreshard
if tsql "sslmode=require" -c "SELECT 1" 2>"$TEST_DIR/err"; then fail "sslmode=require got in with client_tls_sslmode=disable"; fi
grep -q "server does not support SSL" "$TEST_DIR/err" || fail "SSLRequest not answered 'N': $(cat "$TEST_DIR/err")"
[ "$("$PY" "$TEST_DIR/pgerr.py" "$FS_PORT" foreshard tls)" = N ] || fail "SSLRequest not answered 'N'"
[ "$(server_ssl "sslmode=prefer")" = f ] || fail "server leg uses TLS although PostgreSQL has ssl = off"
(echo "SELECT 1;"; sleep 3) | tsql "sslmode=prefer" >/dev/null &
bg=$!
wait_client tls off
wait "$bg" || fail "a plain session failed"
[ "$(stat clients_tls)" = 0 ] || fail "clients_tls is '$(stat clients_tls)' with no TLS client"
stop_foreshard

echo "server_tls_sslmode = require against PostgreSQL without TLS: FATAL 08006"
start_foreshard --set server_tls_sslmode=require
out=$("$PY" "$TEST_DIR/pgerr.py" "$FS_PORT" foreshard)
case "$out" in "08006 "*"does not accept TLS"*) ;; *) fail "server_tls_sslmode=require against ssl = off gave: $out" ;; esac
if tsql "sslmode=disable" -c "SELECT 1" 2>"$TEST_DIR/err"; then fail "a session went on without the required server TLS"; fi
grep -q "does not accept TLS" "$TEST_DIR/err" || fail "unclear error for psql: $(cat "$TEST_DIR/err")"
stop_foreshard

echo "client_tls_sslmode = prefer: foreshard's own certificate to TLS clients, plain clients too"
start_foreshard --set client_tls_sslmode=prefer "${PROXY_TLS[@]}"
[ "$(peer_cert fingerprint "$FS_PORT")" = "$(fingerprint "$C/proxy.crt")" ] ||
	fail "the client leg does not present proxy.crt: $(peer_cert subject "$FS_PORT")"
[ "$(tsql "sslmode=verify-full sslrootcert=$C/ca.crt" -At -c "SELECT 'tls ok'")" = "tls ok" ] ||
	fail "sslmode=verify-full with ca.crt failed through foreshard"
if tsql "sslmode=verify-ca sslrootcert=$C/ca2.crt" -c "SELECT 1" 2>"$TEST_DIR/err"; then
	fail "a client trusting only ca2 accepted foreshard's certificate"
fi
grep -q "certificate verify failed" "$TEST_DIR/err" || fail "unexpected error: $(cat "$TEST_DIR/err")"
[ "$(tsql "sslmode=disable" -At -c "SELECT 'plain ok'")" = "plain ok" ] || fail "a plain client was refused under prefer"
[ "$(server_ssl "sslmode=require")" = f ] || fail "server leg uses TLS although PostgreSQL has ssl = off"
(echo "SELECT 1;"; sleep 3) | tsql "sslmode=require" >/dev/null &
bg=$!
wait_client tls on
wait "$bg" || fail "a TLS session failed"
[ "$(stat clients_tls)" -ge 3 ] || fail "clients_tls is '$(stat clients_tls)' after at least 3 TLS clients"
echo "TLS 1.2 and 1.3 by default, nothing older"
[ "$(peer_cert subject "$FS_PORT" -tls1_2)" = "subject=CN = localhost" ] || fail "TLS 1.2 refused under client_tls_protocols=secure"
[ "$(peer_cert subject "$FS_PORT" -tls1_3)" = "subject=CN = localhost" ] || fail "TLS 1.3 refused under client_tls_protocols=secure"
[ -z "$(peer_cert subject "$FS_PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')" ] || fail "a TLS 1.1 client got a session"
stop_foreshard

echo "client_tls_protocols = tlsv1.3 (and client_tls_sslmode = allow)"
start_foreshard --set client_tls_sslmode=allow "${PROXY_TLS[@]}" --set client_tls_protocols=tlsv1.3
[ -z "$(peer_cert subject "$FS_PORT" -tls1_2)" ] || fail "a TLS 1.2 client got a session under tlsv1.3"
[ "$(peer_cert subject "$FS_PORT" -tls1_3)" = "subject=CN = localhost" ] || fail "TLS 1.3 refused under tlsv1.3"
[ "$(tsql "sslmode=require" -At -c "SELECT 'tls ok'")" = "tls ok" ] || fail "sslmode=require failed under allow"
[ "$(tsql "sslmode=disable" -At -c "SELECT 'plain ok'")" = "plain ok" ] || fail "a plain client was refused under allow"
stop_foreshard

echo "client_tls_protocols = tlsv1.2"
start_foreshard --set client_tls_sslmode=prefer "${PROXY_TLS[@]}" --set client_tls_protocols=tlsv1.2
[ "$(peer_cert subject "$FS_PORT" -tls1_2)" = "subject=CN = localhost" ] || fail "TLS 1.2 refused under tlsv1.2"
[ -z "$(peer_cert subject "$FS_PORT" -tls1_3)" ] || fail "a TLS 1.3 client got a session under tlsv1.2"
stop_foreshard

echo "client_tls_sslmode = require: plain clients get FATAL 28000"
start_foreshard --set client_tls_sslmode=require "${PROXY_TLS[@]}"
out=$("$PY" "$TEST_DIR/pgerr.py" "$FS_PORT" foreshard)
case "$out" in "28000 "*"TLS is required"*) ;; *) fail "a plain client under require got: $out" ;; esac
if tsql "sslmode=disable" -c "SELECT 1" 2>"$TEST_DIR/err"; then fail "a plain client got in under require"; fi
grep -q "TLS is required" "$TEST_DIR/err" || fail "unclear refusal: $(cat "$TEST_DIR/err")"
[ "$(tsql "sslmode=require" -At -c "SELECT 'tls ok'")" = "tls ok" ] || fail "a TLS client was refused under require"
stop_foreshard

echo "client_tls_sslmode = verify-ca: a client certificate from client_tls_ca_file is needed"
start_foreshard --set client_tls_sslmode=verify-ca "${PROXY_TLS[@]}" --set "client_tls_ca_file=$C/ca.crt"
[ "$(tsql "sslmode=require sslcert=$C/client.crt sslkey=$C/client.key" -At -c "SELECT 'cert ok'")" = "cert ok" ] ||
	fail "a client certificate signed by ca was refused"
if tsql "sslmode=require" -c "SELECT 1" 2>"$TEST_DIR/err"; then fail "a client without a certificate got in under verify-ca"; fi
if tsql "sslmode=require sslcert=$C/other.crt sslkey=$C/other.key" -c "SELECT 1" 2>"$TEST_DIR/err"; then
	fail "a client certificate from ca2 got in under verify-ca"
fi
if tsql "sslmode=disable" -c "SELECT 1" 2>"$TEST_DIR/err"; then fail "a plain client got in under verify-ca"; fi
stop_foreshard

echo "client_tls_sslmode = verify-full: the certificate's CN must be the user name"
start_foreshard --set client_tls_sslmode=verify-full "${PROXY_TLS[@]}" --set "client_tls_ca_file=$C/ca.crt"
[ "$(tsql "sslmode=verify-full sslrootcert=$C/ca.crt sslcert=$C/client.crt sslkey=$C/client.key" -At -c "SELECT current_user")" = foreshard ] ||
	fail "user foreshard with a certificate for foreshard was refused"
if PGUSER=scram_user PGPASSWORD=scrampass tsql "sslmode=require sslcert=$C/client.crt sslkey=$C/client.key" -c "SELECT 1" 2>"$TEST_DIR/err"; then
	fail "user scram_user got in with a certificate for foreshard"
fi
grep -q "does not match the user name" "$TEST_DIR/err" || fail "unclear refusal: $(cat "$TEST_DIR/err")"
out=$("$PY" "$TEST_DIR/pgerr.py" "$FS_PORT" scram_user tls "$C/client.crt" "$C/client.key")
case "$out" in "28000 "*"does not match the user name"*) ;; *) fail "CN mismatch gave: $out" ;; esac
if tsql "sslmode=require sslcert=$C/other.crt sslkey=$C/other.key" -c "SELECT 1" 2>/dev/null; then
	fail "a client certificate from ca2 got in under verify-full"
fi
stop_foreshard

echo "tls_passthrough with PostgreSQL's ssl = off: a prefer client goes on in plain text, profiled"
start_foreshard --set tls_passthrough=on
q0=$(stat queries)
[ "$(tsql "sslmode=prefer" -At -c "SELECT 'plain ok'")" = "plain ok" ] || fail "a prefer client failed when PostgreSQL declined TLS"
[ "$(stat queries)" -gt "$q0" ] || fail "the plain client's statement was not profiled"
if tsql "sslmode=require" -c "SELECT 1" 2>"$TEST_DIR/err"; then fail "sslmode=require got a session though PostgreSQL has ssl = off"; fi
grep -q "server does not support SSL" "$TEST_DIR/err" || fail "PostgreSQL's 'N' not relayed: $(cat "$TEST_DIR/err")"
stop_foreshard

echo "PostgreSQL gets ssl = on"
pg_ssl_on

echo "tls_passthrough: the client's TLS session goes to PostgreSQL, unprofiled"
start_foreshard --set tls_passthrough=on
[ "$(peer_cert fingerprint "$FS_PORT")" = "$(fingerprint "$C/server.crt")" ] ||
	fail "a passthrough client does not see PostgreSQL's certificate: $(peer_cert subject "$FS_PORT")"
[ "$(server_ssl "sslmode=verify-full sslrootcert=$C/ca.crt")" = t ] || fail "pg_stat_ssl does not show TLS for a passthrough client"
q0=$(stat queries)
out=$(tsql "sslmode=require" -At -c "SELECT 1" -c "SELECT 2" -c "SELECT 3" -c "SELECT 4" -c "SELECT 5" | tr '\n' ' ')
[ "$out" = "1 2 3 4 5 " ] || fail "queries through passthrough returned '$out'"
[ "$(stat queries)" = "$q0" ] || fail "passthrough statements were counted: queries went from $q0 to $(stat queries)"
(echo "SELECT 1;"; sleep 3) | tsql "sslmode=require" >/dev/null &
bg=$!
wait_client state passthrough
client_col tls | grep -qx passthrough || fail "SHOW CLIENTS tls column lacks passthrough: $(console -c 'SHOW CLIENTS')"
wait "$bg" || fail "a passthrough session failed"
[ "$(stat clients_passthrough)" -ge 3 ] || fail "clients_passthrough is '$(stat clients_passthrough)'"
[ "$(PGUSER=scram_user PGPASSWORD=scrampass tsql "sslmode=require channel_binding=require" -At -c "SELECT 'cb ok'")" = "cb ok" ] ||
	fail "channel_binding=require failed through passthrough"
echo "a plain client on the same foreshard is relayed and profiled"
q0=$(stat queries)
[ "$(tsql "sslmode=disable" -At -c "SELECT 'plain ok'")" = "plain ok" ] || fail "a plain client failed with tls_passthrough on"
[ "$(stat queries)" -gt "$q0" ] || fail "the plain client's statement was not profiled"
stop_foreshard

echo "server_tls_sslmode = prefer (the default) uses TLS; disable does not"
start_foreshard
[ "$(server_ssl "sslmode=disable")" = t ] || fail "server_tls_sslmode=prefer did not use TLS to PostgreSQL"
stop_foreshard
start_foreshard --set server_tls_sslmode=disable
[ "$(server_ssl "sslmode=disable")" = f ] || fail "server_tls_sslmode=disable used TLS to PostgreSQL"
stop_foreshard

echo "server_tls_sslmode = verify-ca and verify-full check PostgreSQL's certificate"
for m in verify-ca verify-full; do
	start_foreshard --set server_tls_sslmode=$m --set "server_tls_ca_file=$C/ca.crt"
	[ "$(server_ssl "sslmode=disable")" = t ] || fail "server_tls_sslmode=$m with the right CA failed"
	stop_foreshard
	start_foreshard --set server_tls_sslmode=$m --set "server_tls_ca_file=$C/ca2.crt"
	if tsql "sslmode=disable" -c "SELECT 1" 2>"$TEST_DIR/err"; then fail "server_tls_sslmode=$m accepted a certificate from another CA"; fi
	grep -q "certificate verify failed" "$TEST_DIR/err" || fail "unclear error for $m with the wrong CA: $(cat "$TEST_DIR/err")"
	stop_foreshard
done

echo "channel binding: two different certificates on the two legs"
start_foreshard --set client_tls_sslmode=prefer "${PROXY_TLS[@]}"
for cb in require prefer; do
	rc=0
	PGUSER=scram_user PGPASSWORD=scrampass tsql "sslmode=require channel_binding=$cb" -c "SELECT 1" 2>"$TEST_DIR/err" || rc=$?
	[ "$rc" != 124 ] || fail "channel_binding=$cb hung"
	[ "$rc" != 0 ] || fail "channel_binding=$cb logged in across two different certificates"
	grep -qi "channel binding" "$TEST_DIR/err" || fail "channel_binding=$cb: unclear error: $(cat "$TEST_DIR/err")"
done
[ "$(PGUSER=scram_user PGPASSWORD=scrampass tsql "sslmode=require channel_binding=disable" -At -c "SELECT current_user")" = scram_user ] ||
	fail "channel_binding=disable could not log in"
stop_foreshard

echo "channel binding: foreshard presents PostgreSQL's own certificate"
start_foreshard --set client_tls_sslmode=prefer --set "client_tls_cert_file=$C/server.crt" --set "client_tls_key_file=$C/server.key"
[ "$(PGUSER=scram_user PGPASSWORD=scrampass tsql "sslmode=require channel_binding=require" -At -c "SELECT current_user")" = scram_user ] ||
	fail "channel_binding=require failed with the same certificate on both legs"
stop_foreshard

echo "channel binding: no TLS to PostgreSQL"
start_foreshard --set client_tls_sslmode=prefer "${PROXY_TLS[@]}" --set server_tls_sslmode=disable
[ "$(PGUSER=scram_user PGPASSWORD=scrampass tsql "sslmode=require channel_binding=prefer" -At -c "SELECT current_user")" = scram_user ] ||
	fail "channel_binding=prefer failed without TLS to PostgreSQL"
if PGUSER=scram_user PGPASSWORD=scrampass tsql "sslmode=require channel_binding=require" -c "SELECT 1" 2>"$TEST_DIR/err"; then
	fail "channel_binding=require logged in without channel binding"
fi
grep -q "channel binding is required, but server did not offer" "$TEST_DIR/err" || fail "unexpected error: $(cat "$TEST_DIR/err")"
stop_foreshard

echo "SIGHUP reloads the certificate files; established sessions go on"
cp "$C/proxy.crt" "$TEST_DIR/live.crt"
cp "$C/proxy.key" "$TEST_DIR/live.key"
start_foreshard --set client_tls_sslmode=prefer --set "client_tls_cert_file=$TEST_DIR/live.crt" \
	--set "client_tls_key_file=$TEST_DIR/live.key"
[ "$(peer_cert subject "$FS_PORT")" = "subject=CN = localhost" ] || fail "wrong certificate before the reload"
(echo "SELECT 'before';"; sleep 5; echo "SELECT 'after';") | tsql "sslmode=require" -At >"$TEST_DIR/long.out" 2>&1 &
long=$!
wait_client tls on
cp "$C/proxy2.crt" "$TEST_DIR/live.crt"
cp "$C/proxy2.key" "$TEST_DIR/live.key"
kill -HUP "$FS_PID"
for _ in $(seq 1 50); do
	[ "$(peer_cert subject "$FS_PORT")" = "subject=CN = reloaded.localhost" ] && break
	sleep 0.1
done
[ "$(peer_cert subject "$FS_PORT")" = "subject=CN = reloaded.localhost" ] ||
	fail "new connections still get '$(peer_cert subject "$FS_PORT")' after SIGHUP"
[ "$(tsql "sslmode=verify-full sslrootcert=$C/ca.crt" -At -c "SELECT 'new ok'")" = "new ok" ] || fail "a new session failed after the reload"
wait "$long" || fail "the established session failed across the reload: $(cat "$TEST_DIR/long.out")"
[ "$(tr '\n' ' ' <"$TEST_DIR/long.out")" = "before after " ] || fail "the established session got: $(cat "$TEST_DIR/long.out")"

# Sends SIGHUP and expects it refused ($1 says why): a "not reloaded" log line, and new
# connections still getting the certificate loaded before.
expect_refused_reload() {
	local n0
	n0=$(grep -c "not reloaded" "$TEST_DIR/foreshard.log" || true)
	kill -HUP "$FS_PID"
	for _ in $(seq 1 50); do
		[ "$(grep -c "not reloaded" "$TEST_DIR/foreshard.log" || true)" -gt "$n0" ] && break
		sleep 0.1
	done
	[ "$(grep -c "not reloaded" "$TEST_DIR/foreshard.log" || true)" -gt "$n0" ] || fail "no 'not reloaded' log line for $1"
	[ "$(peer_cert subject "$FS_PORT")" = "subject=CN = reloaded.localhost" ] ||
		fail "after a refused reload ($1) new connections get '$(peer_cert subject "$FS_PORT")'"
}

echo "SIGHUP with a key that does not match the certificate keeps the old pair"
cp "$C/proxy.crt" "$TEST_DIR/live.crt"
expect_refused_reload "a mismatched key"

echo "SIGHUP with a missing key file keeps the old pair"
cp "$C/proxy2.crt" "$TEST_DIR/live.crt"
rm "$TEST_DIR/live.key"
expect_refused_reload "a missing key file"
[ "$(tsql "sslmode=require" -At -c "SELECT 'still ok'")" = "still ok" ] || fail "not serving TLS after a refused reload"
stop_foreshard
echo "ok"
