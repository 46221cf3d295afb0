#!/bin/sh
# test_namespace.sh — a producer in another PID namespace (a container sharing /dev/shm) is alive
# to the collector while it runs (its life lock, not its pid, says so), and exited once it ends;
# the collector never removes its segment meanwhile. Root only (unshare --pid); skipped otherwise.
# Usage: test_namespace.sh BIN_DIR
set -eu
BIN=$1
PY=/usr/bin/python3
if [ "$(id -u)" -ne 0 ] || ! unshare --pid --fork true 2>/dev/null; then
    echo "namespace: skipped (needs root and unshare --pid)"; exit 0
fi
TK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tk-ns.XXXXXX")
export TK_DIR
NS=""
cleanup() { [ -n "$NS" ] && kill "$NS" 2>/dev/null; wait 2>/dev/null; rm -rf "$TK_DIR"; }
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

unshare --pid --fork "$BIN/gateway" --rate 2000 --duration 3 >/dev/null 2>&1 &
NS=$!
i=0
until "$BIN/timekeeper" list --json 2>/dev/null | grep -q '"gw.risk"'; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "the namespaced gateway never appeared"
    sleep 0.05
done
"$BIN/timekeeper" list --json | $PY -c '
import json, sys
p = [json.loads(l) for l in sys.stdin][0]
assert p["pid"] == 1, ("the producer sees itself as pid 1 of its namespace", p["pid"])
assert p["state"] == "live", ("alive through its life lock", p["state"])
' || fail "a producer in another PID namespace is not seen alive"
"$BIN/timekeeper" check --max-silence 5 >/dev/null || fail "check: the namespaced producer is unhealthy"
"$BIN/timekeeper" report --once >/dev/null
ls "$TK_DIR" | grep -q '\.seg$' || fail "a viewer removed a live segment"
wait "$NS" || true
NS=""
"$BIN/timekeeper" list --json | grep -q '"state":"exited"' || fail "not exited after it ended"
echo "namespace: 1 passed, 0 failed"
