#!/bin/sh
# test_otlp_cli.sh — `timekeeper export --otlp` against a receiver on 127.0.0.1: what arrives
# decodes (protoc) to the counts `report --json --once` gives for the same records; JSON encoding;
# a 400 is counted and fails the command; --live pushes every interval and flushes on SIGTERM;
# a recording (`record -o`) pushed window by window matches its stats rows.
# Usage: test_otlp_cli.sh BIN_DIR SOURCE_DIR
set -eu
BIN=$1
SRC=$2
PY=/usr/bin/python3
TK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tk-otlp-cli.XXXXXX")
export TK_DIR
RECV=""
EXP=""
GW=""
SRV=""
cleanup() {
    set +e
    [ -n "$EXP" ] && kill "$EXP" 2>/dev/null
    [ -n "$SRV" ] && kill "$SRV" 2>/dev/null
    [ -n "$GW" ] && kill "$GW" 2>/dev/null
    if [ -n "$RECV" ]; then kill "$RECV" 2>/dev/null; wait "$RECV" 2>/dev/null || true; fi
    rm -rf "$TK_DIR"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

# start_receiver DIR SCRIPT: sets RECV and URL
start_receiver() {
    if [ -n "$RECV" ]; then kill "$RECV" 2>/dev/null; wait "$RECV" 2>/dev/null || true; fi
    mkdir -p "$1"
    $PY "$SRC/tests/otlp_receiver.py" "$1" "$2" &
    RECV=$!
    i=0
    until [ -f "$1/port" ]; do
        i=$((i + 1)); [ $i -lt 300 ] || fail "receiver did not start"
        sleep 0.02
    done
    URL="http://127.0.0.1:$(cat "$1/port")"
}

# A program that records a known set of spans, then exits normally (its segment stays).
"$BIN/top_producer" --timers 4 --rate 4000 --duration 0.5

# protobuf, delta: the decoded counts equal report's totals
start_receiver "$TK_DIR/r1" 200
"$BIN/timekeeper" export --otlp "$URL" --service checkout --json > "$TK_DIR/export.json" \
    || fail "export failed: $(cat "$TK_DIR/export.json")"
grep -q '"sent":1,' "$TK_DIR/export.json" || fail "one request expected: $(cat "$TK_DIR/export.json")"
"$BIN/timekeeper" report --once --keep --json > "$TK_DIR/report.json"
$PY "$SRC/tests/otlp_check.py" "$SRC/tests/data/otlp" "$TK_DIR/r1/0000-metrics.bin" > "$TK_DIR/otlp.txt"
$PY - "$TK_DIR/report.json" "$TK_DIR/otlp.txt" <<'PYEOF' || fail "OTLP counts differ from report --json"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
totals = {(r["timer"], r["kind"]): r["count"] for r in rows if r["window"] == "total" and r["count"]}
got = {}
res = {}
for line in open(sys.argv[2]):
    f = line.split()
    if f[0] == "R":
        res[f[1]] = " ".join(f[2:])
    if f[0] == "M" and f[3] == "expo":
        kv = dict(x.split("=") for x in f[4:])
        kind = "processing" if f[1].endswith(".processing") else "latency"
        assert int(kv["count"]) == int(kv["buckets"]) + int(kv["zero"]), line
        assert kv["temporality"] == "1", line
        got[(f[2], kind)] = int(kv["count"])
assert totals, "report saw the records"
assert got == totals, (got, totals)
assert res["service.name"] == "checkout", res
assert res["process.command_line"].startswith("top_producer") or "top_producer" in res["process.command_line"], res
assert {"host.name", "process.pid"} <= res.keys(), res
PYEOF

# JSON encoding, cumulative, endpoint from the environment
start_receiver "$TK_DIR/r2" 200
OTEL_EXPORTER_OTLP_ENDPOINT="$URL" "$BIN/timekeeper" export --otlp-encoding json \
    --otlp-temporality cumulative > /dev/null || fail "export --otlp-encoding json failed"
f=$(ls "$TK_DIR"/r2/*-metrics.json) || fail "no JSON request arrived"
$PY "$SRC/tests/otlp_check.py" "$SRC/tests/data/otlp" "$f" > "$TK_DIR/r2.txt"
grep -q 'expo .* temporality=2' "$TK_DIR/r2.txt" || fail "cumulative JSON histogram"
grep -q '"aggregationTemporality":2' "$f" || fail "enum as an integer"

# 400: not retried, counted, and the command fails
start_receiver "$TK_DIR/r3" 400
if "$BIN/timekeeper" export --otlp "$URL" --json > "$TK_DIR/e400.json"; then
    fail "export succeeded against a 400"
fi
grep -q '"rejected":1,' "$TK_DIR/e400.json" || fail "400 not counted: $(cat "$TK_DIR/e400.json")"
grep -q '"retries":0,' "$TK_DIR/e400.json" || fail "400 retried"
[ "$(wc -l < "$TK_DIR/r3/log")" -eq 1 ] || fail "400 was sent more than once"

# --live: a push per interval while the program runs; SIGTERM flushes and ends it
start_receiver "$TK_DIR/r4" 200
"$BIN/top_producer" --timers 2 --rate 2000 --duration 3 &
PROD=$!
"$BIN/timekeeper" export --otlp "$URL" --live --interval 200ms --json > "$TK_DIR/live.json" &
EXP=$!
sleep 1.2
kill -TERM "$EXP"
wait "$EXP" || fail "export --live did not end cleanly on SIGTERM: $(cat "$TK_DIR/live.json")"
EXP=""
kill "$PROD" 2>/dev/null || true
wait "$PROD" 2>/dev/null || true
n=$(ls "$TK_DIR"/r4/*-metrics.bin | wc -l)
[ "$n" -ge 3 ] || fail "export --live pushed $n requests in 1.2 s at 200 ms"
grep -q '"unsent":0' "$TK_DIR/live.json" || fail "requests left at SIGTERM: $(cat "$TK_DIR/live.json")"

# A receiver that accepts connections and never answers: the rings are still drained on time (no
# record lost) and every push past the queue is counted as overflow, exactly.
mkdir -p "$TK_DIR/r5" "$TK_DIR/shm5"
$PY -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1] + "/port.tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + "/port.tmp", sys.argv[1] + "/port")
time.sleep(60)
' "$TK_DIR/r5" &
HUNG=$!
i=0
until [ -f "$TK_DIR/r5/port" ]; do i=$((i + 1)); [ $i -lt 300 ] || fail "listener"; sleep 0.02; done
TK_DIR="$TK_DIR/shm5" "$BIN/timekeeper" export --otlp "http://127.0.0.1:$(cat "$TK_DIR/r5/port")" --live --interval 100ms \
    --duration 2 --otlp-queue 2 --otlp-timeout 1s --json > "$TK_DIR/hung.json" &
EXP=$!
sleep 0.2
TK_DIR="$TK_DIR/shm5" "$BIN/top_producer" --timers 4 --rate 100000 --duration 1.5
wait "$EXP" && fail "export succeeded with nothing delivered"
EXP=""
kill "$HUNG" 2>/dev/null; wait "$HUNG" 2>/dev/null || true
$PY - "$TK_DIR/hung.json" <<'PYEOF' || fail "hung receiver: $(cat "$TK_DIR/hung.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["sent"] == 0 and s["ring_lost"] == 0, s
assert s["enqueued"] == 2 and s["unsent"] == 2, s
assert s["pushes"] >= 8, s  # about 15 at 100 ms while the program runs
assert s["enqueued"] + s["overflow"] == s["pushes"], s  # every push queued or counted
PYEOF

# --otlp-spans on the gateway example (dressed messages): spans of one message share a trace
start_receiver "$TK_DIR/r6" 200
mkdir -p "$TK_DIR/shm6"
TK_DIR="$TK_DIR/shm6" "$BIN/gateway" --rate 2000 2>/dev/null &
GW=$!
sleep 0.3
TK_DIR="$TK_DIR/shm6" "$BIN/timekeeper" export --otlp "$URL" --otlp-spans --sample 0.2 --duration 1 \
    --json > "$TK_DIR/spans.json" || fail "export --otlp-spans: $(cat "$TK_DIR/spans.json")"
kill "$GW" 2>/dev/null; wait "$GW" 2>/dev/null || true
GW=""
for f in "$TK_DIR"/r6/*-traces.bin; do
    $PY "$SRC/tests/otlp_check.py" "$SRC/tests/data/otlp" "$f"
done > "$TK_DIR/spans.txt"
$PY - "$TK_DIR/spans.json" "$TK_DIR/spans.txt" <<'PYEOF' || fail "spans: $(cat "$TK_DIR/spans.json")"
import collections, json, sys
s = json.load(open(sys.argv[1]))
spans = [l.split() for l in open(sys.argv[2]) if l.startswith("S ")]
assert len(spans) == s["spans_kept"] > 0, (len(spans), s)
assert 0.1 < s["spans_kept"] / s["spans_offered"] < 0.3, s  # --sample 0.2, per trace
by_trace = collections.defaultdict(set)
for _, name, trace, span, start, end in spans:
    assert int(end) >= int(start) > 1e18, (start, end)  # Unix ns
    by_trace[trace].add(name)
stages = [t for t, names in by_trace.items() if {"gw.ingest", "gw.publisher"} <= names]
assert len(stages) > 10, "messages traced from ingest to publisher: %d" % len(stages)
PYEOF

# serve --otlp: /metrics still answers while every interval is pushed, the gateway's counters
# arrive as monotonic sums (delta: their sum is what the gateway counted, less the few messages it
# counted before serve first read its segment; cumulative: the last value is its total exactly).
for temporality in delta cumulative; do
    start_receiver "$TK_DIR/s-$temporality" 200
    mkdir -p "$TK_DIR/shm-$temporality"
    TK_DIR="$TK_DIR/shm-$temporality" "$BIN/timekeeper" serve --listen 127.0.0.1:0 --otlp "$URL" \
        --otlp-interval 300ms --otlp-temporality $temporality --service gw \
        2> "$TK_DIR/serve-$temporality.err" &
    SRV=$!
    i=0
    until grep -q '/metrics' "$TK_DIR/serve-$temporality.err" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 300 ] || fail "serve did not start: $(cat "$TK_DIR/serve-$temporality.err")"
        sleep 0.02
    done
    MURL=$(sed -n 's/^timekeeper serve: \(http:.*metrics\)$/\1/p' "$TK_DIR/serve-$temporality.err")
    TK_DIR="$TK_DIR/shm-$temporality" "$BIN/gateway" --rate 2000 --duration 1.5 2> "$TK_DIR/gw-$temporality.err" &
    GW=$!
    sleep 0.8
    $PY -c 'import sys, urllib.request; b = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
assert "gw.ingest" in b or "gw_ingest" in b, b[:2000]' "$MURL" || fail "/metrics during serve --otlp"
    wait "$GW" || fail "gateway"
    GW=""
    sleep 0.7 # one more push after the gateway's last records
    kill -TERM "$SRV"
    wait "$SRV" || fail "serve --otlp did not end cleanly: $(cat "$TK_DIR/serve-$temporality.err")"
    SRV=""
    grep -q ' 0 unsent' "$TK_DIR/serve-$temporality.err" || fail "serve left requests: $(cat "$TK_DIR/serve-$temporality.err")"
    for f in "$TK_DIR"/s-$temporality/*-metrics.bin; do
        $PY "$SRC/tests/otlp_check.py" "$SRC/tests/data/otlp" "$f"; echo "END"
    done > "$TK_DIR/serve-$temporality.txt"
    sent=$(sed -n 's/^gateway: \([0-9]*\) messages in.*/\1/p' "$TK_DIR/gw-$temporality.err")
    $PY - "$TK_DIR/serve-$temporality.txt" "$sent" $temporality <<'PYEOF' || fail "serve --otlp $temporality: $(cat "$TK_DIR/serve-$temporality.err")"
import sys
sent, temporality = int(sys.argv[2]), sys.argv[3]
reqs, cur = [], []
for line in open(sys.argv[1]):
    if line.strip() == "END":
        reqs.append(cur); cur = []
    else:
        cur.append(line.split())
assert len(reqs) >= 4, "pushes at 300 ms over 2.2 s: %d" % len(reqs)
assert any(f[0] == "M" and f[3] == "expo" and f[2] == "gw.ingest" for r in reqs for f in r), "histograms"
ins = []
for r in reqs:
    assert ["R", "service.name", "gw"] in r, r
    for f in r:
        if f[0] == "M" and f[1] == "gw.messages_in":
            assert f[2] == "sum", f  # "M name timer kind ...": no timer attribute, so no field
            kv = dict(x.split("=") for x in f[3:])
            assert kv["temporality"] == ("1" if temporality == "delta" else "2"), f
            ins.append(int(kv["value"]))
assert ins, "gw.messages_in never arrived"
assert sent > 1000, sent
if temporality == "delta":
    assert 0.9 * sent <= sum(ins) <= sent, (sum(ins), sent, ins)
else:
    assert ins == sorted(ins) and ins[-1] == sent, (ins, sent)
print("serve --otlp %s: gw.messages_in %s, the gateway counted %d" % (temporality, ins, sent))
PYEOF
    # the gateway's resources from /proc, in the same requests: CPU time, RSS, threads
    $PY - "$TK_DIR/serve-$temporality.txt" $temporality <<'PYEOF' || fail "serve --otlp $temporality resources"
import sys
temporality = sys.argv[2]
cpu, rss, threads = [], [], []
for line in open(sys.argv[1]):
    f = line.split()
    if f[:1] != ["M"]:
        continue
    kv = dict(x.lstrip("@").split("=", 1) for x in f[3:] if "=" in x)
    if f[1] == "process.cpu.time":
        assert f[2] == "sum" and kv["temporality"] == ("1" if temporality == "delta" else "2"), f
        assert kv["cpu.mode"] in ("user", "system"), f
        cpu.append((kv["cpu.mode"], float(kv["value"])))
    elif f[1] == "process.memory.usage":
        assert f[2] == "gauge", f
        rss.append(int(kv["value"]))
    elif f[1] == "process.threads":
        threads.append(int(kv["value"]))
assert cpu and rss and threads, "no resources: %d %d %d" % (len(cpu), len(rss), len(threads))
assert all(v >= 0 for _, v in cpu), cpu
# user + system: delta points add up, cumulative ones grow to the process's total
if temporality == "delta":
    total = sum(v for _, v in cpu)
else:
    total = max(v for m, v in cpu if m == "user") + max(v for m, v in cpu if m == "system")
assert 0 < total < 60, cpu  # the gateway at 2000 messages/s for 1.5 s
assert all(1 << 20 <= r < 16 << 30 for r in rss), rss
assert all(2 <= t < 1000 for t in threads), threads  # the gateway runs several threads
print("resources %s: cpu %.3f s, rss %d..%d, threads %s" % (
    temporality, total, min(rss), max(rss), sorted(set(threads))))
PYEOF
done

# Task types (the libuv example, when built): handle_request arrives with its sums, exec with
# children at least its own exec, and the 200 requests of the selftest as calls.
if [ -x "$BIN/uv-server" ]; then
    mkdir -p "$TK_DIR/shm-uv"
    TK_DIR="$TK_DIR/shm-uv" "$BIN/uv-server" --selftest 200 > "$TK_DIR/uv.out" 2>&1 || fail "uv-server: $(cat "$TK_DIR/uv.out")"
    start_receiver "$TK_DIR/r-uv" 200
    TK_DIR="$TK_DIR/shm-uv" "$BIN/timekeeper" export --otlp "$URL" --json > "$TK_DIR/uv.json" \
        || fail "export of uv-server: $(cat "$TK_DIR/uv.json")"
    for f in "$TK_DIR"/r-uv/*-metrics.bin; do
        $PY "$SRC/tests/otlp_check.py" "$SRC/tests/data/otlp" "$f"
    done > "$TK_DIR/uv.txt"
    $PY - "$TK_DIR/uv.txt" <<'PYEOF' || fail "task metrics: $(grep task "$TK_DIR/uv.txt" | head)"
import sys
got = {}
for line in open(sys.argv[1]):
    f = line.split()
    if f[:1] == ["M"] and f[1].startswith("timekeeper.task."):
        kv = dict(x.lstrip("@").split("=", 1) for x in f[3:] if "=" in x)
        assert f[2] == "sum", f
        if kv.get("code.function") == "handle_request":
            assert kv["code.filepath"].endswith("uv_server.c") and int(kv["code.lineno"]) > 0, f
            got[f[1]] = float(kv["value"])
assert set(got) == {"timekeeper.task.exec", "timekeeper.task.exec_with_children",
                    "timekeeper.task.calls"}, got
assert got["timekeeper.task.calls"] == 200, got
assert got["timekeeper.task.exec_with_children"] >= got["timekeeper.task.exec"] > 0, got
print("tasks: handle_request", got)
PYEOF
fi

# A recording pushed window by window: each request is one `interval` window of the file, its
# histogram counts equal that window's stats rows, its timestamps are the window's (wall clock);
# cumulative: the last push holds the `total` window's counts; counters arrive as their deltas.
mkdir -p "$TK_DIR/rec"
TK_DIR="$TK_DIR/rec" "$BIN/timekeeper" record -o "$TK_DIR/rec/run.db" --interval 500ms \
    -- "$BIN/gateway" --rate 5000 --duration 2 2> "$TK_DIR/rec/record.err" \
    || fail "record: $(cat "$TK_DIR/rec/record.err")"
for temporality in delta cumulative; do
    start_receiver "$TK_DIR/rec-$temporality" 200
    "$BIN/timekeeper" export --otlp "$URL" --otlp-temporality $temporality --json \
        "$TK_DIR/rec/run.db" > "$TK_DIR/rec/$temporality.json" \
        || fail "export --otlp RECORDING: $(cat "$TK_DIR/rec/$temporality.json")"
    for f in "$TK_DIR"/rec-$temporality/*-metrics.bin; do
        $PY "$SRC/tests/otlp_check.py" "$SRC/tests/data/otlp" "$f"; echo "END"
    done > "$TK_DIR/rec/$temporality.txt"
    $PY - "$TK_DIR/rec/run.db" "$TK_DIR/rec/$temporality.txt" "$TK_DIR/rec/$temporality.json" \
        $temporality <<'PYEOF' || fail "export --otlp RECORDING ($temporality) differs from its stats rows"
import collections, json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
temporality = sys.argv[4]
off = db.execute("SELECT real_minus_mono_ns FROM processes").fetchone()[0]
wins = db.execute("SELECT id, start_mono_ns, end_mono_ns FROM intervals WHERE window = 'interval' "
                  "ORDER BY id").fetchall()
total = db.execute("SELECT id FROM intervals WHERE window = 'total'").fetchone()[0]
def counts(ids):
    c = collections.Counter()
    for timer, kind, n in db.execute(
            "SELECT n.name, s.kind, s.count FROM stats s JOIN names n ON n.id = s.timer "
            "WHERE s.interval IN (%s)" % ",".join(str(i) for i in ids)):
        c[(timer, kind)] += n
    return dict(c)
reqs, cur = [], []
for line in open(sys.argv[2]):
    if line.strip() == "END":
        reqs.append(cur); cur = []
    else:
        cur.append(line.split())
st = json.load(open(sys.argv[3]))
assert st["sent"] == len(reqs) == len(wins) >= 3, (st, len(reqs), len(wins))
assert st["unsent"] == 0 and st["rejected"] == 0, st
msgs = 0
run = collections.Counter()
for i, (req, (wid, start, end)) in enumerate(zip(reqs, wins)):
    got = {}
    for f in req:
        if f[0] == "M" and f[3] == "expo":
            kv = dict(x.split("=") for x in f[4:])
            kind = "processing" if f[1].endswith(".processing") else "latency"
            got[(f[2], kind)] = int(kv["count"])
            want_start = (wins[0][1] if temporality == "cumulative" else start) + off
            assert (int(kv["start"]), int(kv["time"])) == (want_start, end + off), (f, start, end, off)
            assert kv["temporality"] == ("1" if temporality == "delta" else "2"), f
        if f[0] == "M" and f[1] == "gw.messages_in":
            kv = dict(x.split("=") for x in f[3:])
            msgs = msgs + int(kv["value"]) if temporality == "delta" else int(kv["value"])
    want = counts([w[0] for w in wins[:i + 1]] if temporality == "cumulative" else [wid])
    assert got == want, (i, got, want)
    run = collections.Counter(got) if temporality == "cumulative" else run + collections.Counter(got)
got = dict(run)  # the sum of the deltas, or the last cumulative push: the whole run
assert got == counts([total]) and sum(got.values()) > 10000, (got, counts([total]))
# delta: the deltas add up to the total window's; cumulative: the last push is the program's total
want_msgs = db.execute("SELECT c.%s FROM counters c JOIN names n ON n.id = c.name "
                       "WHERE n.name = 'gw.messages_in' AND c.interval = ?" % (
                           "delta" if temporality == "delta" else "total"), (total,)).fetchone()[0]
assert msgs == want_msgs > 0, (msgs, want_msgs)
print("export --otlp RECORDING %s: %d windows, %d records, gw.messages_in %d" % (
    temporality, len(wins), sum(got.values()), msgs))
PYEOF
    # the recording's resources rows, in the push of their window: CPU time of the window (delta)
    # or of the run so far (cumulative), RSS and threads at its end
    $PY - "$TK_DIR/rec/run.db" "$TK_DIR/rec/$temporality.txt" $temporality <<'PYEOF' \
        || fail "export --otlp RECORDING ($temporality): resources differ from the resources rows"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
temporality = sys.argv[3]
wins = [w for (w,) in db.execute("SELECT id FROM intervals WHERE window = 'interval' ORDER BY id")]
rows = {w: (u / 100 * secs, s / 100 * secs, rss, th) for w, secs, u, s, rss, th in db.execute(
    "SELECT interval, seconds, user_pct, sys_pct, rss_bytes, threads FROM resources")}
reqs, cur = [], {}
for line in open(sys.argv[2]):
    f = line.split()
    if f == ["END"]:
        reqs.append(cur); cur = {}
    elif f[:1] == ["M"] and f[1].startswith("process."):
        kv = dict(x.lstrip("@").split("=", 1) for x in f[3:] if "=" in x)
        cur[(f[1], kv.get("cpu.mode"))] = float(kv["value"])
assert len(reqs) == len(wins), (len(reqs), len(wins))
seen, user_run, sys_run = 0, 0.0, 0.0
for w, got in zip(wins, reqs):
    if w not in rows:
        assert not got, (w, got)  # no sample in that window: no resource metrics
        continue
    u, s, rss, th = rows[w]
    user_run, sys_run = user_run + u, sys_run + s
    want_u, want_s = (u, s) if temporality == "delta" else (user_run, sys_run)
    assert abs(got[("process.cpu.time", "user")] - want_u) < 1e-9, (w, got, want_u)
    assert abs(got[("process.cpu.time", "system")] - want_s) < 1e-9, (w, got, want_s)
    assert got[("process.memory.usage", None)] == rss and got[("process.threads", None)] == th, (w, got)
    seen += 1
assert seen >= 3, seen
print("export --otlp RECORDING %s: resources of %d windows, cpu %.3f s" % (
    temporality, seen, user_run + sys_run))
PYEOF
done
# -t filters timers; a file that is not a recording is an error, not a push
start_receiver "$TK_DIR/rec-t" 200
"$BIN/timekeeper" export --otlp "$URL" -t 'gw.ingest' "$TK_DIR/rec/run.db" > /dev/null || fail "export -t RECORDING"
for f in "$TK_DIR"/rec-t/*-metrics.bin; do $PY "$SRC/tests/otlp_check.py" "$SRC/tests/data/otlp" "$f"; done > "$TK_DIR/rec/t.txt"
grep -q 'expo' "$TK_DIR/rec/t.txt" || fail "-t gw.ingest pushed no histogram"
if grep ' expo' "$TK_DIR/rec/t.txt" | grep -qv ' gw.ingest '; then fail "-t let another timer through"; fi
echo "not a database" > "$TK_DIR/rec/bad.db"
if "$BIN/timekeeper" export --otlp "$URL" "$TK_DIR/rec/bad.db" 2>/dev/null; then fail "a non-recording was pushed"; fi
if "$BIN/timekeeper" export --otlp "$URL" --live "$TK_DIR/rec/run.db" 2>/dev/null; then fail "--live with a recording"; fi
cp "$TK_DIR/rec/run.db" "$TK_DIR/rec/corrupt.db"
sqlite3 "$TK_DIR/rec/corrupt.db" "UPDATE stats SET hist = x'0105ff' WHERE rowid = (SELECT min(rowid) FROM stats)"
if "$BIN/timekeeper" export --otlp "$URL" "$TK_DIR/rec/corrupt.db" 2> "$TK_DIR/rec/corrupt.err"; then
    fail "a malformed histogram was pushed"
fi
grep -q 'malformed' "$TK_DIR/rec/corrupt.err" || fail "malformed histogram: $(cat "$TK_DIR/rec/corrupt.err")"

# usage errors
if "$BIN/timekeeper" export 2>/dev/null; then fail "export without an endpoint succeeded"; fi
if "$BIN/timekeeper" export --otlp "$URL" --otlp-encoding xml 2>/dev/null; then fail "bad encoding accepted"; fi
if "$BIN/timekeeper" export --otlp "$URL" --sample 0.5 2>/dev/null; then fail "--sample without --otlp-spans"; fi
if env -u OTEL_EXPORTER_OTLP_ENDPOINT "$BIN/timekeeper" serve --otlp-spans 2>/dev/null; then fail "serve: OTLP option without an endpoint"; fi
if "$BIN/timekeeper" serve --otlp "$URL" --otlp-interval 0 2>/dev/null; then fail "serve: --otlp-interval 0"; fi
echo "ok"
