#!/bin/sh
# test_scribble.sh — random bytes written over a live segment's header and rings while
# `report --interval 0.1` runs: the collector neither crashes nor hangs; the segment is reported
# and skipped. Usage: test_scribble.sh BIN_DIR
set -eu
BIN=$1
PY=/usr/bin/python3
TK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tk-scribble.XXXXXX")
export TK_DIR
P=""
cleanup() { [ -n "$P" ] && kill -9 "$P" 2>/dev/null; wait 2>/dev/null; rm -rf "$TK_DIR"; }
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

for round in 1 2 3; do
    "$BIN/gateway" --rate 20000 --duration 10 >/dev/null 2>&1 &
    P=$!
    i=0
    until ls "$TK_DIR" | grep -q '\.seg$'; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "no segment appeared"
        sleep 0.05
    done
    seg="$TK_DIR/$(ls "$TK_DIR" | grep '\.seg$' | head -n 1)"
    timeout 20 "$BIN/timekeeper" report --interval 0.1 --count 15 > "$TK_DIR/out" 2> "$TK_DIR/err" &
    R=$!
    sleep 0.3
    # 200 writes of 1..64 random bytes: layout fields, the rest of the header, names and rings
    $PY - "$seg" "$round" <<'PYEOF'
import os, random, sys, time
path, seed = sys.argv[1], int(sys.argv[2])
rnd = random.Random(seed)
size = os.path.getsize(path)
fd = os.open(path, os.O_WRONLY)
for i in range(200):
    if i % 10 == 0:   # the layout fields (sizes, offsets, capacity) at the header's start
        off = rnd.randrange(0, 128)
    elif i % 2 == 0:  # anywhere in the header (calibration, names count, text)
        off = rnd.randrange(0, 16384)
    else:             # the name table and the first rings
        off = rnd.randrange(16384, min(size, 16384 + 4 * 2**21))
    os.pwrite(fd, rnd.randbytes(rnd.randrange(1, 65)), off)
    time.sleep(0.005)
os.close(fd)
PYEOF
    status=0
    wait "$R" || status=$?
    [ "$status" -eq 0 ] || fail "round $round: report exited with $status ($(tail -n 3 "$TK_DIR/err"))"
    grep -q "== totals ==" "$TK_DIR/out" || fail "round $round: report did not finish its totals"
    grep -q "skipping\|layout changed\|detached" "$TK_DIR/err" || fail "round $round: the scribbled segment was not reported: $(cat "$TK_DIR/err")"
    kill -9 "$P" 2>/dev/null || true
    wait "$P" 2>/dev/null || true
    P=""
    rm -f "$TK_DIR"/*.seg
done
echo "scribble: 3 passed, 0 failed"
