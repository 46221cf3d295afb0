#!/bin/sh
# test_report_cli.sh — report's numbers and table against real running programs: the totals' rate
# is over the window observed (a steady 20k/s gateway reads about 20k/s in --once, in every interval and
# in the totals), long timer names are never cut, --timer takes a word as a substring and says so
# when it matches nothing, and microseconds follow the locale (us under LC_ALL=C, µs under UTF-8).
# Usage: test_report_cli.sh BIN_DIR
set -eu
BIN=$1
TK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tk-report-cli.XXXXXX")
export TK_DIR
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$TK_DIR"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
PY=/usr/bin/python3

wait_timer() { # NAME: until list shows it (bounded)
    i=0
    until "$BIN/timekeeper" list --json | grep -q "\"$1\""; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "timer $1 never appeared in list"
        sleep 0.05
    done
}

# ---- 1. the rate of the totals and of --once is over the window observed ----
"$BIN/gateway" --rate 20000 --duration 20 2>/dev/null &
PIDS="$PIDS $!"
wait_timer gw.ingest
sleep 1
"$BIN/timekeeper" report --once --json --timer gw.ingest > "$TK_DIR/once.json"
"$BIN/timekeeper" report --interval 500ms --count 3 --json --timer gw.ingest > "$TK_DIR/run.json"
$PY - "$TK_DIR/once.json" "$TK_DIR/run.json" <<'PYEOF' || fail "totals rate"
import json, sys
once = [json.loads(l) for l in open(sys.argv[1])]
run = [json.loads(l) for l in open(sys.argv[2])]
pick = lambda rows, w: [r for r in rows if r["window"] == w and r["kind"] == "processing"]
iv = [r["rate_hz"] for r in pick(run, "interval")]
assert len(iv) == 3, run
mean = sum(iv) / len(iv)
for r in iv:
    assert abs(r - mean) <= 0.5 * mean, ("intervals disagree", iv)  # the bug was 200x off
(tot,) = pick(run, "total")
(first,) = pick(once, "total")
for name, r in (("totals", tot["rate_hz"]), ("--once", first["rate_hz"])):
    assert abs(r - mean) <= 0.5 * mean, (name, r, "intervals", iv)
    print("%s rate %.0f/s, intervals %.0f/s" % (name, r, mean))
PYEOF

# ---- 9. --timer: a word is a substring, a pattern a glob; nothing matched is said ----
"$BIN/timekeeper" report --once --timer risk > "$TK_DIR/risk.txt" 2> "$TK_DIR/risk.err"
grep -q "gw.risk" "$TK_DIR/risk.txt" || fail "--timer risk shows gw.risk: $(cat "$TK_DIR/risk.txt")"
grep -q "gw.ingest" "$TK_DIR/risk.txt" && fail "--timer risk shows only gw.risk"
"$BIN/timekeeper" report --once --timer 'GW.R*' > "$TK_DIR/glob.txt"
grep -q "gw.risk" "$TK_DIR/glob.txt" || fail "--timer 'GW.R*' (a glob, any case) shows gw.risk"
"$BIN/timekeeper" report --once --timer nosuchtimer > /dev/null 2> "$TK_DIR/none.err"
grep -q "no timer matches --timer 'nosuchtimer'" "$TK_DIR/none.err" ||
    fail "--timer matching nothing gives a notice: '$(cat "$TK_DIR/none.err")'"

# ---- 10. microseconds follow the locale ----
LC_ALL=C "$BIN/timekeeper" report --once --timer gw.ingest > "$TK_DIR/c.txt"
grep -q '[0-9]us ' "$TK_DIR/c.txt" || fail "LC_ALL=C: us expected: $(cat "$TK_DIR/c.txt")"
grep -q 'µs' "$TK_DIR/c.txt" && fail "LC_ALL=C: no µs expected"
LC_ALL=C.UTF-8 "$BIN/timekeeper" report --once --timer gw.ingest > "$TK_DIR/u.txt"
grep -q '[0-9]µs ' "$TK_DIR/u.txt" || fail "LC_ALL=C.UTF-8: µs expected: $(cat "$TK_DIR/u.txt")"

# ---- 2. long names are never cut, and the columns stay aligned ----
"$BIN/top_producer" --timers 4 --rate 2000 --duration 20 --prefix service.handler.request. &
PIDS="$PIDS $!"
wait_timer service.handler.request.publish
LC_ALL=C.UTF-8 "$BIN/timekeeper" report --once --timer service. > "$TK_DIR/long.txt"
for n in decode match publish journal; do
    grep -q "service.handler.request.$n " "$TK_DIR/long.txt" ||
        fail "the whole name service.handler.request.$n is printed: $(cat "$TK_DIR/long.txt")"
done
$PY - "$TK_DIR/long.txt" <<'PYEOF' || fail "aligned columns"
import sys
rows = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8") if l.startswith("  ")]
# every row (header included) ends its "count" and "lost" columns at the same character
ends = {len(l) for l in rows}
assert len(ends) == 1, ("rows of different widths", rows)
PYEOF
echo "report: totals rate, --timer, units and long names OK"
