#!/bin/sh
# test_report_stats.sh — `timekeeper report --stats` against the gateway with a stage switched off:
# per-interval counter deltas, the stage shown off, a resources line from /proc, and the lines
# read back by `timekeeper plot`.
#     sh test_report_stats.sh BIN_DIR
set -eu
bin=$1
TK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tk-stats-XXXXXX")
export TK_DIR
trap 'kill $gw 2>/dev/null; rm -rf "$TK_DIR"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

TK_DISABLE_STAGES=publish "$bin/gateway" --rate 2000 --duration 6 2>/dev/null &
gw=$!
i=0
until ls "$TK_DIR"/timekeeper-$gw-*.seg >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "no segment"; sleep 0.05
done
"$bin/timekeeper" report --stats --interval 1 --count 2 --pid $gw >"$TK_DIR/out.log"
cat "$TK_DIR/out.log" | cut -c1-200
[ "$(grep -c '^stats - {' "$TK_DIR/out.log")" -eq 3 ] || fail "2 interval lines + the totals expected"
[ "$(grep -c "^resources - {.*\"rss\":[1-9]" "$TK_DIR/out.log")" -eq 2 ] || fail "a resources line with an RSS per interval expected"
/usr/bin/python3 - "$TK_DIR/out.log" <<'PY' || fail "values"
import json, sys
lines = [json.loads(l.split(" - ", 1)[1]) for l in open(sys.argv[1]) if l.startswith("stats - ")]
second = lines[1]  # a whole interval at 2000 messages/s
n = second["counters"]["gw.messages_in"]
assert 1000 <= n <= 3000, n
assert second["counters"]["gw.published"] == 0, second  # the publish stage is off
assert second["stages"] == {"publish": 0, "risk": 1}, second["stages"]
assert second["timers"]["gw.risk"]["count"] > 0
assert "(invalid)" not in second["timers"]
total = lines[2]["counters"]["gw.messages_in"]
assert total >= lines[0]["counters"]["gw.messages_in"] + n, (total, lines)
PY
if command -v gnuplot >/dev/null 2>&1; then
    "$bin/timekeeper" plot "$TK_DIR/out.log" -o "$TK_DIR/g.svg" --timer gw.risk >/dev/null ||
        fail "plot of report --stats"
    grep -q 'gw.messages_in' "$TK_DIR/g.svg" || fail "no counter panel"
fi
echo "report --stats: ok"
