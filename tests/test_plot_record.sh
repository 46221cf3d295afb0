#!/bin/sh
# test_plot_record.sh — `timekeeper plot` of `timekeeper record` files: a recording of the gateway
# gives the CPU, RSS, counter-rate and timer panels with the values of its tables; a recording and
# a log plot together; a SQLite file that is not a recording is refused with a message.
#     sh test_plot_record.sh BIN_DIR SOURCE_DIR
set -eu
BIN=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/tk-plot-record-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v gnuplot >/dev/null 2>&1 || { echo "gnuplot not installed: skipping"; exit 0; }
mkdir "$T/shm" "$T/tmp"
export TK_DIR="$T/shm" TMPDIR="$T/tmp"

"$BIN/timekeeper" record -q --interval 0.25 -o "$T/01_gateway.db" -- \
    "$BIN/gateway" --rate 5000 --duration 2 >"$T/gw.out" 2>"$T/gw.err" \
    || fail "record gateway: $(cat "$T/gw.err")"

# a recording alone, with a timer: the panels and the kept data
"$BIN/timekeeper" plot "$T/01_gateway.db" --timer gw.risk --keep -o "$T/r.png" \
    >"$T/out" 2>"$T/err" || fail "plot recording: $(cat "$T/err")"
[ "$(head -c 8 "$T/r.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] || fail "not a PNG"
[ "$(wc -c <"$T/r.png")" -gt 20000 ] || fail "PNG too small"
grep -q 'panels, 1 logs' "$T/out" || fail "summary: $(cat "$T/out")"
kept=$(sed -n 's/.*script and data kept in //p' "$T/err")
[ -f "$kept/plot.gp" ] || fail "no kept script: $(cat "$T/err")"
/usr/bin/python3 - "$T/01_gateway.db" "$kept" <<'PY' || fail "the plotted series are not the recording's"
import re, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
gp = open(sys.argv[2] + "/plot.gp").read()
# panel title -> the data file of log 0
panels = {}
for title, body in re.findall(r"set title '([^']*)'.*?\nplot (.*?)\n(?=set title|unset)", gp, re.S):
    m = re.search(r"'([^']*_l0\.dat)'", body)
    if m:
        panels[title] = [tuple(map(float, l.split())) for l in open(m.group(1))]
for want in ("CPU", "RSS", "gw.messages_in", "gw.published", "gw.risk p50", "gw.risk p99"):
    assert want in panels, (want, sorted(panels))
win = db.execute("SELECT id, end_mono_ns, seconds FROM intervals WHERE window = 'interval' "
                 "ORDER BY end_mono_ns").fetchall()
assert len(win) >= 4, win
t0 = win[0][1]
def close(a, b):
    return abs(a - b) <= 1e-3 * max(1.0, abs(b))
# counter rates: each window's delta over its seconds
rows = db.execute("SELECT i.end_mono_ns, c.delta, i.seconds FROM counters c JOIN intervals i "
                  "ON i.id = c.interval JOIN names n ON n.id = c.name WHERE i.window = 'interval' "
                  "AND n.name = 'gw.messages_in' ORDER BY i.end_mono_ns").fetchall()
got = panels["gw.messages_in"]
assert len(got) == len(rows) >= 4, (got, rows)
for (t, v), (end, delta, secs) in zip(got, rows):
    assert close(t, (end - t0) / 1e9) and close(v, delta / secs), ((t, v), (end, delta, secs))
assert max(v for _, v in got) > 0
# CPU % and RSS in MiB
rows = db.execute("SELECT r.cpu_pct, r.rss_bytes FROM resources r JOIN intervals i "
                  "ON i.id = r.interval WHERE i.window = 'interval' ORDER BY i.end_mono_ns").fetchall()
assert len(panels["CPU"]) == len(rows), (panels["CPU"], rows)
assert all(close(v, c) for (_, v), (c, _) in zip(panels["CPU"], rows)), (panels["CPU"], rows)
assert all(close(v, r / 1048576) for (_, v), (_, r) in zip(panels["RSS"], rows))
assert all(v > 0 for _, v in panels["RSS"])
# the timer's p99 in µs, per window
rows = db.execute("SELECT s.p99_ns FROM stats s JOIN intervals i ON i.id = s.interval JOIN names n "
                  "ON n.id = s.timer WHERE i.window = 'interval' AND s.kind = 'processing' "
                  "AND n.name = 'gw.risk' ORDER BY i.end_mono_ns").fetchall()
got = panels["gw.risk p99"]
assert len(got) == len(rows) and all(close(v, r / 1e3) for (_, v), (r,) in zip(got, rows)), (got, rows)
PY

# a recording next to a log: two series in the CPU panel, both names in the legend
"$BIN/timekeeper" plot "$SRC/tests/data/stats/00_regular.log" "$T/01_gateway.db" --keep \
    -o "$T/mixed.png" >"$T/out" 2>"$T/err" || fail "plot log and recording: $(cat "$T/err")"
grep -q 'panels, 2 logs' "$T/out" || fail "summary: $(cat "$T/out")"
[ "$(wc -c <"$T/mixed.png")" -gt 20000 ] || fail "mixed PNG too small"
kept=$(sed -n 's/.*script and data kept in //p' "$T/err")
grep -A4 "set title 'CPU'" "$kept/plot.gp" | grep -q "_l1.dat.*title 'gateway'" \
    || fail "the recording's CPU series: $(grep -A4 "set title 'CPU'" "$kept/plot.gp")"
grep -A4 "set title 'CPU'" "$kept/plot.gp" | grep -q "_l0.dat.*title 'regular'" \
    || fail "the log's CPU series"
[ -n "${TK_PLOT_KEEP_PNG:-}" ] && cp "$T/r.png" "$T/mixed.png" "$TK_PLOT_KEEP_PNG"

# a SQLite file that is not a recording
sqlite3 "$T/other.db" 'CREATE TABLE t(x); INSERT INTO t VALUES (1);'
if "$BIN/timekeeper" plot "$T/other.db" -o "$T/o.png" 2>"$T/err"; then fail "plotted a non-recording"; fi
grep -q 'not a recording' "$T/err" || fail "message: $(cat "$T/err")"
echo "plot recording: ok"
