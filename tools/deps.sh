#!/usr/bin/env bash
# Installs the Debian packages foreshard needs to build, test and run its demo, if missing.
# Idempotent and quiet when everything is present; needs root (or sudo) only when installing.
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang-format clang-14 libclang-rt-14-dev
	libevent-dev libssl-dev libpq-dev libpg-query-dev libprotobuf-c-dev
	libcriterion-dev libck-dev libgsl-dev
	postgresql-15 postgresql-client-15 pgbouncer python3-psycopg2 openssl)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql package starts a cluster on 5432; foreshard's tests and demo start their
# own throwaway servers and need nothing from it, so leave it as the system configured it.
