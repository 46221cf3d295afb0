#!/bin/sh
# test_diff.sh — `timekeeper diff`: a timer that really regressed is flagged and fails the gate;
# one that only jittered (its naive p50/p99 change passes 5%) is called noise and does not.
# usage: test_diff.sh BIN_DIR
set -eu
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
fake() { out=$1; shift; "$BIN/tk_fake_recording" "$out" --intervals 20 --per 2000 "$@"; }

# parse: median 10 us, steady (2% interval-to-interval drift); route: median 50 us, noisy (20%).
fake "$T/a.db" --seed 1 --timer parse:10000:0.3:0.02 --timer route:50000:0.4:0.2
# B: parse 20% slower; route the same distribution, another draw of its noise.
fake "$T/b.db" --seed 11 --timer parse:12000:0.3:0.02 --timer route:50000:0.4:0.2
# C: nothing changed, another draw of the noise of both.
fake "$T/c.db" --seed 11 --timer parse:10000:0.3:0.02 --timer route:50000:0.4:0.2

set +e
"$BIN/timekeeper" diff --fail-on 'p99>5%' "$T/a.db" "$T/b.db" >"$T/table"
rc=$?
set -e
[ $rc = 1 ] || fail "a real regression must fail the gate (exit $rc): $(cat "$T/table")"
head -2 "$T/table" | tail -1 | grep -q "^gateway/parse .*regressed.*FAIL p99>5%" \
    || fail "parse first, regressed: $(cat "$T/table")"
grep "^gateway/route" "$T/table" | grep -q " noise " || fail "route is noise: $(cat "$T/table")"

set +e
"$BIN/timekeeper" diff --json --fail-on 'p99>5%' --fail-on 'p50>5%' "$T/a.db" "$T/b.db" >"$T/json"
rc=$?
set -e
[ $rc = 1 ] || fail "json run exit $rc"
/usr/bin/python3 - "$T/json" <<'PY' || fail "json: $(cat "$T/json")"
import json, sys
d = json.load(open(sys.argv[1]))
rows = {r["timer"]: r for r in d["rows"]}
p, r = rows["parse"], rows["route"]
assert d["failed"] is True
assert d["rows"][0]["timer"] == "parse", "sorted by the largest regression"
assert p["verdict"] == "regressed", p
assert 0.15 < p["change"]["p50"] < 0.25 and 0.15 < p["change"]["p99"] < 0.25, p["change"]
assert p["interval95"]["p99"][0] > 0.05, p["interval95"]
assert set(p["failed"]) == {"p99>5%", "p50>5%"}, p["failed"]
# The jittered timer moved by more than the 5% rule, yet stays within its noise.
assert r["change"]["p99"] > 0.05 and r["change"]["p50"] > 0.05, r["change"]
assert r["verdict"] == "noise" and r["failed"] == [], r
lo, hi = r["interval95"]["p99"]
assert lo < 0 < hi, r["interval95"]
assert p["a"]["count"] == 40000 and p["a"]["intervals"] == 20, p["a"]
PY

"$BIN/timekeeper" diff --fail-on 'p99>5%' --fail-on 'p50>5%' "$T/a.db" "$T/c.db" >"$T/table" \
    || fail "jitter alone must not fail the gate: $(cat "$T/table")"
grep -c " noise " "$T/table" | grep -q 2 || fail "both noise: $(cat "$T/table")"

# A recording against itself: no change.
"$BIN/timekeeper" diff --fail-on 'p99>0%' --fail-on 'max>0%' "$T/a.db" "$T/a.db" >"$T/table" \
    || fail "self diff: $(cat "$T/table")"

# count and max rules are plain thresholds.
fake "$T/d.db" --seed 11 --per 1500 --timer parse:10000:0.3:0.02 --timer route:50000:0.4:0.2
if "$BIN/timekeeper" diff --fail-on 'count<-10%' "$T/a.db" "$T/d.db" >/dev/null; then
    fail "25% fewer records must fail count<-10%"
fi
"$BIN/timekeeper" diff --fail-on 'count<-30%' "$T/a.db" "$T/d.db" >/dev/null || fail "count<-30%"

# Component callbacks (the calls table) are compared the same way, per interval of their start.
fake "$T/ca.db" --seed 1 --per 500 --component tracker:30000:0.3:0.05 --component filter:5000:0.3:0.05
fake "$T/cb.db" --seed 2 --per 500 --component tracker:36000:0.3:0.05 --component filter:5000:0.3:0.05
if "$BIN/timekeeper" diff --fail-on 'p50>5%' "$T/ca.db" "$T/cb.db" >"$T/table"; then
    fail "a slower component must fail: $(cat "$T/table")"
fi
grep "^gateway/tracker.event *call" "$T/table" | grep -q regressed || fail "tracker: $(cat "$T/table")"
grep "^gateway/filter.event *call" "$T/table" | grep -q " noise " || fail "filter: $(cat "$T/table")"

set +e
"$BIN/timekeeper" diff --fail-on 'p42>5%' "$T/a.db" "$T/b.db" >/dev/null 2>&1
[ $? = 2 ] || fail "a bad rule is a usage error"
"$BIN/timekeeper" diff "$T/a.db" "$T/missing.db" >/dev/null 2>"$T/err"
[ $? = 1 ] || fail "a missing recording fails"
set -e
grep -q "no such file" "$T/err" || fail "message: $(cat "$T/err")"
echo "diff: ok"
