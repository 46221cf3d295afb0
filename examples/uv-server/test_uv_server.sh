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
# and a collector shows them: 200 requests, every one finished (exact totals from the segment)
tk=$(dirname "$bin")/timekeeper
if [ -x "$tk" ]; then
    out=$("$tk" list --dir "$dir")
    echo "$out"
    echo "$out" | grep -E -q '^handle_request uv_server.c:[0-9]+ +200 +0 +0 ' ||
        { echo "timekeeper list does not show 200 handle_request tasks" >&2; exit 1; }
fi
echo "ok"
