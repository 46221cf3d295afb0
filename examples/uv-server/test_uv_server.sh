#!/bin/sh
# test_uv_server.sh — runs uv-server's selftest in a private segment directory and checks that its
# segment holds the task types (the same data a collector reads).
#     sh test_uv_server.sh UV_SERVER
set -eu
bin=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/tk-uv-test-XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
TK_DIR=$dir "$bin" --selftest 200
seg=$(ls "$dir"/timekeeper-*.seg)
# the task type names are in the segment's name table ("func@file:line")
grep -a -q 'handle_request@' "$seg" || { echo "no handle_request type in $seg" >&2; exit 1; }
grep -a -q 'uv.loop.idle' "$seg" || { echo "no uv.loop.idle timer in $seg" >&2; exit 1; }
echo "ok"
