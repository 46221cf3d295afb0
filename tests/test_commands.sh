#!/bin/sh
# test_commands.sh — list, report --json, check and calibrate against a real running program.
# Usage: test_commands.sh BIN_DIR
set -eu
BIN=$1
TK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tk-commands.XXXXXX")
export TK_DIR
GW=""
cleanup() {
    [ -n "$GW" ] && kill -CONT "$GW" 2>/dev/null && kill "$GW" 2>/dev/null && wait "$GW" 2>/dev/null
    rm -rf "$TK_DIR"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
PY=/usr/bin/python3

"$BIN/gateway" --rate 5000 2>/dev/null &
GW=$!
# wait (bounded) until the gateway's timers are visible
i=0
until "$BIN/timekeeper" list --json | grep -q '"gw.publisher"'; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "the gateway's timers never appeared in list"
    sleep 0.05
done

# list --json: one object per process with its timers
"$BIN/timekeeper" list --json | $PY -c '
import json, sys
procs = [json.loads(l) for l in sys.stdin]
assert len(procs) == 1, procs
p = procs[0]
assert p["process"] == "gateway" and p["state"] == "live", p
names = {t["name"] for t in p["timers"]}
assert {"gw.ingest", "gw.sequencer", "gw.risk", "gw.publisher", "sequencer.journal"} <= names, names
' || fail "list --json"

# report --json: the documented keys, both windows, both kinds, consistent numbers
"$BIN/timekeeper" report --interval 0.3 --count 2 --json > "$TK_DIR/report.json"
$PY - "$TK_DIR/report.json" <<'EOF' || fail "report --json"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = {"pid", "process", "timer", "kind", "window", "count", "lost", "rate_hz", "min_ns", "avg_ns",
        "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns"}
for r in rows:
    missing = keys - r.keys()
    assert not missing, ("missing keys", missing, r)
    assert r["kind"] in ("processing", "latency") and r["window"] in ("interval", "total"), r
    if r["count"]:
        assert r["min_ns"] <= r["p50_ns"] <= r["p90_ns"] <= r["p99_ns"] <= r["p999_ns"] <= r["max_ns"], r
        assert r["min_ns"] <= r["avg_ns"] <= r["max_ns"], r
        assert r["rate_hz"] > 0, r
intervals = [r for r in rows if r["window"] == "interval"]
totals = {(r["timer"], r["kind"]): r for r in rows if r["window"] == "total"}
assert intervals and totals, "both windows are printed"
lat = totals[("gw.publisher", "latency")]
proc = totals[("gw.publisher", "processing")]
assert lat["count"] == proc["count"] > 0, (lat, proc)
assert lat["p50_ns"] > proc["p50_ns"], "latency since ingest exceeds the publisher's own work"
assert ("sequencer.journal", "latency") not in totals, "a timer without origin has no latency row"
for (timer, kind), r in totals.items():
    n = sum(i["count"] for i in intervals if i["timer"] == timer and i["kind"] == kind)
    assert n <= r["count"], (timer, kind, n, r["count"])
EOF

# check: healthy while it records, quiet once stopped, named on stderr
"$BIN/timekeeper" check --max-silence 5 >/dev/null || fail "check: a recording process is unhealthy"
kill -STOP "$GW"
sleep 1.2
if "$BIN/timekeeper" check --max-silence 0.5 >/dev/null 2>"$TK_DIR/check.err"; then
    fail "check: a stopped process is healthy"
fi
grep -q "pid $GW (gateway)" "$TK_DIR/check.err" || fail "check does not name the quiet process: $(cat "$TK_DIR/check.err")"
kill -CONT "$GW"
sleep 0.3
"$BIN/timekeeper" check --max-silence 5 >/dev/null || fail "check: unhealthy after the process went on"
"$BIN/timekeeper" check --json --max-silence 5 | tail -n 1 | grep -q '"healthy":true' || fail "check --json"

# a killed process: drained and shown as killed; viewers leave its segment, clean removes it
kill -KILL "$GW"
wait "$GW" 2>/dev/null || true
GW=""
"$BIN/timekeeper" report --once --json > "$TK_DIR/final.json"
grep -q '"state":"killed"' "$TK_DIR/final.json" || fail "the killed process is not reported as killed"
"$BIN/timekeeper" report --once --json > "$TK_DIR/again.json"
grep -q '"state":"killed"' "$TK_DIR/again.json" || fail "a second look does not find the killed process"
"$BIN/timekeeper" list >/dev/null
[ -n "$(ls "$TK_DIR" | grep '\.seg$' || true)" ] || fail "a viewer removed the killed process's segment"
"$BIN/timekeeper" clean --dry-run > "$TK_DIR/dry.txt" 2>/dev/null || fail "clean --dry-run"
grep -q "would remove .*killed" "$TK_DIR/dry.txt" || fail "clean --dry-run does not name it: $(cat "$TK_DIR/dry.txt")"
[ -n "$(ls "$TK_DIR" | grep '\.seg$' || true)" ] || fail "clean --dry-run removed something"
"$BIN/timekeeper" clean > "$TK_DIR/clean.txt" 2>/dev/null || fail "clean"
grep -q "removed .*killed" "$TK_DIR/clean.txt" || fail "clean does not say what it removed"
[ -z "$(ls "$TK_DIR" | grep '\.seg$' || true)" ] || fail "clean left the killed process's segment"

# calibrate --json: every measurement is there and positive
"$BIN/timekeeper" calibrate --quick --json | $PY -c '
import json, sys
c = json.load(sys.stdin)
for k in ("tk_now_ns", "clock_gettime_ns", "span_ns", "floor_ns", "span_to_floor", "disabled_ns",
          "eventfd_create_close_ns", "eventfd_wake_p50_ns", "poll_1ms_p50_ns"):
    assert c[k] > 0, (k, c[k])
assert c["poll_1ms_p50_ns"] >= 1e6, c["poll_1ms_p50_ns"]
assert c["disabled_ns"] < c["span_ns"], c
' || fail "calibrate --json"
echo "commands: ok"
