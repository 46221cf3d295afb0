#!/bin/sh
# test_record.sh — `timekeeper record` against the real event-pipeline example: the documented
# tables hold every component call, event, raw span and window; the gateway's counters, stages
# and resources fill theirs per interval; summary.py prints the reference's
# summary; an existing file is kept; a recorder killed with SIGKILL and one that meets a full disk
# leave files that pass integrity_check.
# Usage: test_record.sh BIN_DIR SOURCE_DIR
set -eu
BIN=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/tk-record.XXXXXX")
REC=""
PIPE=""
cleanup() {
    [ -n "$PIPE" ] && kill -9 "$PIPE" 2>/dev/null
    [ -n "$REC" ] && kill -9 "$REC" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
PY=/usr/bin/python3

# 1. a whole run: 2 files x 2 runs x 250 events, selection aborts one in 7
"$BIN/timekeeper" record --raw --interval 0.1 -o "$T/run.db" -- \
    "$BIN/pipeline" --fast --events-per-run 250 > "$T/out.txt" 2> "$T/err.txt" || fail "record: $(cat "$T/err.txt")"
grep -q "1000 events" "$T/out.txt" || fail "the pipeline's output: $(cat "$T/out.txt")"
grep -q "component calls" "$T/err.txt" || fail "no summary at the end: $(cat "$T/err.txt")"
PYTHONPATH=$SRC/examples/event-pipeline $PY - "$T/run.db" <<'EOF' || fail "the recording's tables"
import sqlite3, sys
import summary
db = sqlite3.connect(sys.argv[1])
one = lambda sql, *a: db.execute(sql, a).fetchone()[0]
assert one("PRAGMA integrity_check") == "ok"
assert one("SELECT value FROM meta WHERE key = 'schema_version'") == "1"
assert one("SELECT value FROM meta WHERE key = 'stop_reason'") == "command exited"
assert one("SELECT exit_kind FROM processes") == "normal"
comps = [r[0] for r in db.execute("SELECT name FROM components ORDER BY name_id")]
assert comps == ["__ALL__", "reader", "calibration", "selection", "writer"], comps
aborted = 1000 // 7
assert one("SELECT count(*) FROM events") == 1000
assert one("SELECT count(*) FROM events WHERE completed = 0") == aborted
calls = lambda comp, cb: one("SELECT count(*) FROM calls c JOIN names n ON n.id = c.component"
                             " WHERE n.name = ? AND c.callback = ?", comp, cb)
assert calls("reader", "event") == 1000 and calls("selection", "event") == 1000
assert calls("writer", "event") == 1000 - aborted, calls("writer", "event")
assert calls("__ALL__", "event") == 1000
assert calls("reader", "file_open") == 2 and calls("__ALL__", "file_open") == 2
assert calls("calibration", "new_run") == 4 and calls("__ALL__", "before_new_run") == 4
assert calls("__ALL__", "absolute") == 1
# every call of an aborted event points to it; the writer never saw one
assert one("SELECT count(*) FROM calls c JOIN events e ON c.event = e.id JOIN names n"
           " ON n.id = c.component WHERE e.completed = 0 AND n.name = 'writer'") == 0
assert one("SELECT count(*) FROM calls WHERE callback = 'event' AND event IS NULL") == 0
# absolute wraps every call (instants are interpolated between calibration samples, durations
# use the long-run rate: a few ns apart at most over a run this short)
lo, hi = db.execute("SELECT start_ns, start_ns + dur_ns FROM calls WHERE callback = 'absolute'").fetchone()
bad = db.execute("SELECT callback, start_ns - ?, start_ns + dur_ns - ? FROM calls"
                 " WHERE start_ns < ? - 1000 OR start_ns + dur_ns > ? + 1000", (lo, hi, lo, hi)).fetchall()
assert not bad, bad[:5]
# raw spans of the ordinary timer: one per event, in order
timer = one("SELECT id FROM timers WHERE name = 'pipeline.step'")
spans = []
for n, first, data in db.execute("SELECT n, first_start_ns, data FROM span_blocks ORDER BY id"):
    spans += summary.decode_spans(n, first, data)
assert len(spans) == 1000 and all(s[0] == timer for s in spans), len(spans)
assert all(a[1] <= b[1] for a, b in zip(spans, spans[1:]))
# the labeled points of the file boundaries
pts = db.execute("SELECT p.client, p.command, p.context FROM points p JOIN labels l ON l.id = p.label"
                 " WHERE l.name = 'PIPELINE_FILE_OPEN' ORDER BY p.id").fetchall()
assert pts == [(1, None, "kind=input"), (2, None, "kind=input")], pts
# windows: the intervals add up to the total, and the histograms to the counts
total = db.execute("SELECT s.count, s.hist FROM stats s JOIN intervals i ON i.id = s.interval"
                   " WHERE i.window = 'total' AND s.timer = ? AND s.kind = 'processing'", (timer,)).fetchone()
assert total[0] == 1000, total[0]
assert sum(c for _, c in summary.decode_hist(total[1])) == 1000
assert one("SELECT sum(count) FROM stats s JOIN intervals i ON i.id = s.interval"
           " WHERE i.window = 'interval' AND s.timer = ? AND s.kind = 'processing'", timer) == 1000
EOF

# 1b. the documented schema is the file's: every `table(columns)` of the page, column for column
$PY - "$T/run.db" "$SRC/docs/recording-schema.md" <<'EOF' || fail "docs/recording-schema.md and the file differ"
import re, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
doc = " ".join(open(sys.argv[2]).read().split())
tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
seen = set()
for name, cols in re.findall(r"`(\w+)\(([^)`]*)\)", doc):
    if name not in tables or name in seen:
        continue
    seen.add(name)
    documented = [c.strip().split()[0] for c in cols.split(",")
                  if c.strip() and not c.strip().startswith("PRIMARY")]
    actual = [r[1] for r in db.execute(f"PRAGMA table_info({name})")]
    assert documented == actual, (name, documented, actual)
undocumented = {t for t in tables if t not in seen and t not in ("timers", "labels", "components")}
assert not undocumented, undocumented
EOF

# 1c. the gateway's counters, stages and resources, per interval: deltas add up to the total
# window's, every message counted in and out, one stage switched off, CPU and RSS from /proc
TK_DISABLE_STAGES=risk "$BIN/timekeeper" record -q --interval 0.3 -o "$T/gw.db" -- \
    "$BIN/gateway" --duration 1.5 --rate 2000 > "$T/gw.out" 2> "$T/gw.err" || fail "record gateway: $(cat "$T/gw.err")"
$PY - "$T/gw.db" <<'EOF' || fail "the gateway's counters, gauges and resources"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
def rows(q, *a): return db.execute(q, a).fetchall()
for counter in ("gw.messages_in", "gw.published"):
    iv = rows("SELECT c.total, c.delta FROM counters c JOIN names n ON n.id = c.name"
              " JOIN intervals i ON i.id = c.interval WHERE n.name = ? AND n.kind = 'counter'"
              " AND i.window = 'interval' ORDER BY i.id", counter)
    assert len(iv) >= 3, (counter, iv)
    totals = [t for t, _ in iv]
    assert totals == sorted(totals), totals
    (tot, tdelta), = rows("SELECT c.total, c.delta FROM counters c JOIN names n ON n.id = c.name"
                          " JOIN intervals i ON i.id = c.interval WHERE n.name = ?"
                          " AND i.window = 'total'", counter)
    assert sum(d for _, d in iv) == tdelta, (counter, iv, tdelta)
    assert tot == totals[-1] and tot >= 2000, (counter, tot)   # 1.5 s at 2000/s
    assert tdelta <= tot, (tdelta, tot)
stages = dict(rows("SELECT n.name, g.value FROM gauges g JOIN names n ON n.id = g.name"
                   " JOIN intervals i ON i.id = g.interval WHERE n.kind = 'stage'"
                   " AND i.window = 'total'"))
assert stages == {"risk": 0.0, "publish": 1.0}, stages
res = rows("SELECT r.cpu_pct, r.rss_bytes, r.threads, r.cores, r.seconds FROM resources r"
           " JOIN intervals i ON i.id = r.interval WHERE i.window = 'interval'")
assert len(res) >= 3, res
assert all(rss > 0 and thr >= 4 and cores >= 1 and s > 0 and cpu >= 0
           for cpu, rss, thr, cores, s in res), res
assert sum(cpu for cpu, *_ in res) > 0, res
assert len(rows("SELECT * FROM resources r JOIN intervals i ON i.id = r.interval"
                " WHERE i.window = 'total'")) == 1
EOF

# 2. summary.py: absolute, the callbacks per component with __ALL__, the per-event table
$PY "$SRC/examples/event-pipeline/summary.py" "$T/run.db" --events 14 > "$T/summary.txt" || fail "summary.py"
for want in "absolute" "process_start" "file_open" "new_run" "__ALL__" "by_event (1000 events, 858 completed, 142 aborted)" \
    "completed" "false" "true"; do
    grep -qF "$want" "$T/summary.txt" || fail "summary.py prints no '$want': $(cat "$T/summary.txt")"
done
grep -E '^ +7 .* - .* false$' "$T/summary.txt" >/dev/null || fail "event 7 is not shown aborted: $(cat "$T/summary.txt")"

# 3. an existing recording is not replaced without --force
if "$BIN/timekeeper" record -q -o "$T/run.db" --duration 0.1s 2> "$T/err.txt"; then
    fail "record replaced an existing file"
fi
grep -q "exists" "$T/err.txt" || fail "no clear message for an existing file: $(cat "$T/err.txt")"

# 4. kill -9 while recording: the file passes integrity_check and holds its commits
"$BIN/timekeeper" record -q --raw -o "$T/killed.db" -- "$BIN/pipeline" --fast --events-per-run 50000000 &
REC=$!
i=0
until [ -s "$T/killed.db-wal" ] && [ "$($PY -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM calls").fetchone()[0])' "$T/killed.db" 2>/dev/null || echo 0)" -gt 1000 ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "the recorder never committed calls"
    sleep 0.05
done
PIPE=$(pgrep -P "$REC" || true)
kill -9 "$REC"
wait "$REC" 2>/dev/null || true
REC=""
[ -n "$PIPE" ] && kill -9 "$PIPE" 2>/dev/null
$PY - "$T/killed.db" <<'EOF' || fail "the killed recorder's file"
import os, shutil, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
assert db.execute("SELECT count(*) FROM calls").fetchone()[0] > 1000
assert db.execute("SELECT count(*) FROM meta WHERE key = 'stop_reason'").fetchone()[0] == 0
# the killed recorder could not remove its private segments directory
seg = db.execute("SELECT segment FROM processes").fetchone()[0]
d = os.path.dirname(seg)
if os.path.basename(d).startswith("timekeeper-record-"):
    shutil.rmtree(d, ignore_errors=True)
EOF
PIPE=""

# 5. a full disk (a small private tmpfs; needs root and mount namespaces)
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
    mkdir "$T/small"
    set +e
    unshare -m sh -c "mount -t tmpfs -o size=3m tmpfs '$T/small' && \
        '$BIN/timekeeper' record -q --raw -o '$T/small/full.db' -- '$BIN/pipeline' --fast --events-per-run 200000 \
            > /dev/null 2> '$T/full.txt'; echo \$? > '$T/full.rc'; \
        /usr/bin/python3 -c 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); \
print(db.execute(\"PRAGMA integrity_check\").fetchone()[0], db.execute(\"SELECT count(*) FROM calls\").fetchone()[0])' \
            '$T/small/full.db' > '$T/full.check'"
    set -e
    [ "$(cat "$T/full.rc")" = 1 ] || fail "a full disk did not stop the recorder with status 1: $(cat "$T/full.rc") $(cat "$T/full.txt")"
    grep -q "disk is full" "$T/full.txt" || fail "no clear message on a full disk: $(cat "$T/full.txt")"
    read -r ok calls < "$T/full.check"
    [ "$ok" = ok ] || fail "integrity after a full disk: $(cat "$T/full.check")"
    [ "$calls" -gt 0 ] || fail "nothing committed before the disk was full"
else
    echo "full-disk case skipped: needs root and unshare -m"
fi
echo "ok"
