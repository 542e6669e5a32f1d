#!/usr/bin/env bash
# Test PKI for the TLS integration tests:  tools/certs.sh DIR
# Makes, with the openssl CLI, EC P-256 keys (mode 0600) and certificates valid for 30 days:
#   ca.crt/ca.key          "foreshard test CA", which signs everything below except other.*
#   ca2.crt/ca2.key        a second, unrelated CA, for "signed by the wrong CA" cases
#   server.crt/server.key  CN=localhost, SAN DNS:localhost,IP:127.0.0.1: PostgreSQL's certificate
#   proxy.crt/proxy.key    CN=localhost, same SANs: foreshard's certificate towards its clients
#   proxy2.crt/proxy2.key  CN=reloaded.localhost, same SANs: swapped in by the SIGHUP reload test
#   client.crt/client.key  CN=foreshard: a client certificate for the user foreshard
#   other.crt/other.key    CN=foreshard but signed by ca2: a client certificate foreshard must refuse
# Quiet on success; on failure names the step and shows openssl's output.
set -euo pipefail

dir=${1:-}
[ -n "$dir" ] || { echo "usage: $0 DIR" >&2; exit 2; }
command -v openssl >/dev/null || { echo "certs.sh: openssl not found" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
umask 077
log=$(mktemp)
trap 'rm -f "$log" ./*.csr ./*.ext' EXIT

# Runs openssl with its output kept aside; on failure prints it with the step's name and exits.
run() {
	local what=$1
	shift
	if ! openssl "$@" >"$log" 2>&1; then
		echo "certs.sh: cannot make $what in $dir:" >&2
		cat "$log" >&2
		exit 1
	fi
}

newkey() {
	run "$1.key" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"
	chmod 600 "$1.key"
}

# A self-signed CA certificate: name, subject.
make_ca() {
	newkey "$1"
	run "$1.crt" req -new -x509 -key "$1.key" -out "$1.crt" -days 30 -subj "/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign"
}

# A leaf certificate: name, subject CN, signing CA, extended key usage, optional SAN.
make_leaf() {
	local name=$1 cn=$2 ca=$3 eku=$4 san=${5:-}
	newkey "$name"
	run "$name.csr" req -new -key "$name.key" -out "$name.csr" -subj "/CN=$cn"
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$eku"
		[ -z "$san" ] || echo "subjectAltName=$san"
	} >"$name.ext"
	run "$name.crt" x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" \
		-CAcreateserial -days 30 -sha256 -extfile "$name.ext" -out "$name.crt"
}

san="DNS:localhost,IP:127.0.0.1"
make_ca ca "foreshard test CA"
make_ca ca2 "foreshard unrelated test CA"
make_leaf server localhost ca serverAuth "$san"
make_leaf proxy localhost ca serverAuth "$san"
make_leaf proxy2 reloaded.localhost ca serverAuth "$san"
make_leaf client foreshard ca clientAuth
make_leaf other foreshard ca2 clientAuth
chmod 644 ./*.crt
rm -f ./*.srl
