#!/bin/sh
# test_export.sh — `timekeeper export` of a recording in the three formats: the protobuf decoded
# by protoc against the project's .proto, the JSON checked structurally, the CSV counted; a
# malformed recording and an unknown schema refused with a message; --live with spans and with
# program counters and stages (the gateway) as counter tracks.
# usage: test_export.sh BIN_DIR SOURCE_DIR
set -eu
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN/tk_fake_recording" "$T/run.db" --raw 500 --threads 3
# 3 threads x 500 pairs = 3000 spans, 9 points, 3 counter samples + 1 gauge sample

"$BIN/timekeeper" export -o "$T/run.pftrace" "$T/run.db" 2>"$T/err" || fail "perfetto export: $(cat "$T/err")"
grep -q "3000 spans, 9 points, 4 samples" "$T/err" || fail "summary: $(cat "$T/err")"
protoc --proto_path="$SRC/tests/data" --decode=perfetto.protos.Trace \
    "$SRC/tests/data/perfetto_trace.proto" <"$T/run.pftrace" >"$T/run.txt" || fail "protoc could not decode"
count() { grep -c "$1" "$T/run.txt" || true; }
[ "$(count 'type: TYPE_SLICE_BEGIN')" = 3000 ] || fail "slice begins: $(count 'type: TYPE_SLICE_BEGIN')"
[ "$(count 'type: TYPE_SLICE_END')" = 3000 ] || fail "slice ends"
[ "$(count 'terminating_flow_ids:')" = 1500 ] || fail "a flow into every outer span: $(count 'terminating_flow_ids:')"
[ "$(count 'type: TYPE_INSTANT')" = 1509 ] || fail "instants (1500 origins + 9 points): $(count 'type: TYPE_INSTANT')"
[ "$(count 'type: TYPE_COUNTER')" = 4 ] || fail "counter values"
[ "$(count 'thread_name: "worker-')" = 3 ] || fail "one thread track per thread"
[ "$(count 'process_name: "gateway"')" = 1 ] || fail "process descriptor"
[ "$(count 'overlap')" = 0 ] || fail "nested spans need no overlap lane"
grep -q 'string_value: "bytes_ns=12"' "$T/run.txt" || fail "point context"

"$BIN/timekeeper" export --no-flows --quiet -o "$T/noflow.pftrace" "$T/run.db"
protoc --proto_path="$SRC/tests/data" --decode=perfetto.protos.Trace \
    "$SRC/tests/data/perfetto_trace.proto" <"$T/noflow.pftrace" | grep -q flow_ids && fail "--no-flows"

"$BIN/timekeeper" export --format chrome --quiet -o "$T/run.json" "$T/run.db"
/usr/bin/python3 "$SRC/tests/tools/check_trace_json.py" --expect-complete 3000 "$T/run.json" >"$T/json.out" \
    || fail "chrome JSON: $(cat "$T/json.out")"
grep -q "threads=3 complete=3000 instants=9 counters=4" "$T/json.out" || fail "json summary: $(cat "$T/json.out")"

"$BIN/timekeeper" export --format csv --quiet "$T/run.db" >"$T/run.csv"
[ "$(grep -c '^span,' "$T/run.csv")" = 3000 ] || fail "csv spans"
[ "$(grep -c '^point,' "$T/run.csv")" = 9 ] || fail "csv points"
/usr/bin/python3 -c "import csv,sys; rows=list(csv.DictReader(open(sys.argv[1]))); assert len(rows)==3013, len(rows); assert rows[1]['latency_ns']=='500', rows[1]" "$T/run.csv" \
    || fail "csv parse"

# A truncated span block is refused with a message, not a crash.
cp "$T/run.db" "$T/bad.db"
sqlite3 "$T/bad.db" "UPDATE span_blocks SET data = substr(data, 1, 10) WHERE id = 2"
if "$BIN/timekeeper" export -o "$T/bad.pftrace" "$T/bad.db" 2>"$T/err"; then fail "malformed block accepted"; fi
grep -q "span block 2 is malformed" "$T/err" || fail "message: $(cat "$T/err")"
sqlite3 "$T/bad.db" "UPDATE meta SET value = '2' WHERE key = 'schema_version'"
if "$BIN/timekeeper" export "$T/bad.db" >/dev/null 2>"$T/err"; then fail "schema 2 accepted"; fi
grep -q "schema version 2" "$T/err" || fail "message: $(cat "$T/err")"
if "$BIN/timekeeper" export "$T/none.db" >/dev/null 2>"$T/err"; then fail "missing file"; fi
grep -q "no such file" "$T/err" || fail "message: $(cat "$T/err")"
# --live: a running program's spans, exported as they are drained.
mkdir "$T/shm"
TK_DIR="$T/shm" "$BIN/top_producer" --timers 3 --rate 20000 --duration 3 &
prod=$!
sleep 0.3
TK_DIR="$T/shm" "$BIN/timekeeper" export --live --duration 0.5s -o "$T/live.pftrace" 2>"$T/err" \
    || fail "live export: $(cat "$T/err")"
TK_DIR="$T/shm" "$BIN/timekeeper" export --live --duration 0.3s --format chrome -o "$T/live.json" \
    2>>"$T/err" || fail "live chrome export: $(cat "$T/err")"
kill $prod 2>/dev/null || true
wait $prod 2>/dev/null || true
protoc --proto_path="$SRC/tests/data" --decode=perfetto.protos.Trace \
    "$SRC/tests/data/perfetto_trace.proto" <"$T/live.pftrace" >"$T/live.txt" || fail "protoc: live trace"
grep -q 'process_name: "top_producer"' "$T/live.txt" || fail "live: process descriptor"
grep -q 'name: "top.decode"' "$T/live.txt" || fail "live: interned timer name"
n=$(grep -c 'type: TYPE_SLICE_END' "$T/live.txt" || true)
[ "$n" -gt 1000 ] || fail "live: only $n slices"
grep -q "^timekeeper export: $n spans" "$T/err" || fail "live summary: $(cat "$T/err")"
/usr/bin/python3 "$SRC/tests/tools/check_trace_json.py" "$T/live.json" >"$T/json.out" \
    || fail "live chrome JSON: $(cat "$T/json.out")"
# --live with program counters and stages (the gateway): counter tracks with samples as they change
TK_DIR="$T/shm" TK_DISABLE_STAGES=risk "$BIN/gateway" --duration 3 --rate 2000 >/dev/null 2>&1 &
gw=$!
sleep 0.3
TK_DIR="$T/shm" "$BIN/timekeeper" export --live --duration 0.5s -o "$T/gw.pftrace" 2>"$T/err" \
    || fail "live gateway export: $(cat "$T/err")"
TK_DIR="$T/shm" "$BIN/timekeeper" export --live --duration 0.3s --format csv -o "$T/gw.csv" \
    2>>"$T/err" || fail "live gateway csv: $(cat "$T/err")"
kill $gw 2>/dev/null || true
wait $gw 2>/dev/null || true
protoc --proto_path="$SRC/tests/data" --decode=perfetto.protos.Trace \
    "$SRC/tests/data/perfetto_trace.proto" <"$T/gw.pftrace" >"$T/gw.txt" || fail "protoc: live gateway"
grep -q 'name: "gw.messages_in"' "$T/gw.txt" || fail "live: no counter track gw.messages_in"
grep -q 'name: "risk"' "$T/gw.txt" || fail "live: no stage track risk"
nc=$(grep -c 'type: TYPE_COUNTER' "$T/gw.txt" || true)
[ "$nc" -gt 10 ] || fail "live: only $nc counter samples"
/usr/bin/python3 - "$T/gw.csv" <<'EOF' || fail "live csv counters"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ins = [int(r["value"]) for r in rows if r["kind"] == "counter" and r["name"] == "gw.messages_in"]
assert len(ins) > 5 and ins == sorted(ins) and len(set(ins)) == len(ins), ins[:20]
stages = {r["name"]: r["value"] for r in rows if r["kind"] == "gauge"}
assert stages == {"risk": "0", "publish": "1"}, stages   # written once each: they never change
EOF
echo "export: ok"
