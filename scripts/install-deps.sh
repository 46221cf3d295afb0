#!/bin/sh
# install-deps.sh — installs the Debian packages the build and the tests need, when missing.
# Idempotent: does nothing (and needs no network) when everything is already there.
set -eu
PKGS="build-essential cmake pkg-config libcmocka-dev libncurses-dev python3 python3-dev python3-pytest tmux time util-linux"
# Recordings (record, export, diff) and the tests that read them: SQLite, protoc to decode traces.
PKGS="$PKGS libsqlite3-dev sqlite3 protobuf-compiler"
# libuv: the libuv adapter and its example server.
PKGS="$PKGS libuv1-dev"
# serve: HTTP through libmicrohttpd; a real Prometheus and a strict OpenMetrics parser in tests.
PKGS="$PKGS libmicrohttpd-dev prometheus python3-prometheus-client"
# OTLP export: libcurl to send.
PKGS="$PKGS libcurl4-openssl-dev"
# plot (gnuplot) and bench's load generator (wrk): their tests run them for real.
PKGS="$PKGS gnuplot-nox wrk"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
