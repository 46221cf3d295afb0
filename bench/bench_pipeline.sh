#!/bin/sh
# bench_pipeline.sh — the collector's schedule against real programs, as benchmark lines:
#   startup:  a report started first, then one thread at 1 M records/s from its first record
#             (default ring): records delivered and lost;
#   live_points: analyze --live beside a thread recording P points/s for 5 s (ring of 4 M
#             records): points analyzed of points recorded.
# Usage: bench_pipeline.sh BIN_DIR [--quick]
set -u
BIN=$1
quick=${2:-}
PY=/usr/bin/python3
TK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tk-bench-pipeline.XXXXXX")
export TK_DIR
trap 'rm -rf "$TK_DIR"' EXIT INT TERM
n=1000000; pts=25000000; rate=5000000
[ "$quick" = "--quick" ] && { n=300000; pts=5000000; }

"$BIN/timekeeper" report --interval 0.2 --json > "$TK_DIR/r.json" &
R=$!
sleep 0.5
"$BIN/tk_burst" spans $n 1000000 >/dev/null
sleep 0.3
kill -INT $R; wait $R
$PY - "$TK_DIR/r.json" $n <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
t = [r for r in rows if r["window"] == "total" and r["timer"] == "burst.span" and r["kind"] == "processing"]
c, l = (t[0]["count"], t[0]["lost"]) if t else (0, 0)
print("startup: %d of %s records delivered, %d lost (collector first, 1 M records/s from the first record)" % (c, sys.argv[2], l))
PYEOF

"$BIN/timekeeper" analyze --live --json > "$TK_DIR/a.json" &
A=$!
sleep 0.5
TK_RING_SIZE=4194304 "$BIN/tk_burst" points $pts $rate >/dev/null
sleep 0.5
kill -INT $A; wait $A
$PY - "$TK_DIR/a.json" $pts $rate <<'PYEOF'
import json, sys
n = json.load(open(sys.argv[1]))["summary"]["points"]
print("live_points: %d of %s points analyzed at %s points/s (%.2f %%)" % (n, sys.argv[2], sys.argv[3], 100.0 * n / int(sys.argv[2])))
PYEOF
