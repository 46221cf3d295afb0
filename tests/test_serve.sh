#!/usr/bin/env bash
# test_serve.sh — `timekeeper serve` end to end beside a running instrumented program (gateway):
#
#   test_serve.sh BIN formats     promtool check metrics accepts /metrics (text 0.0.4), the
#                                 OpenMetrics parser of python3-prometheus-client accepts the
#                                 OpenMetrics form, /healthz is 200 while the program runs and 503
#                                 once it is gone
#   test_serve.sh BIN sample      the same parsers accept a hand-made snapshot with task types
#                                 (top-k and other), awkward label values and an exited process
#   test_serve.sh BIN forget      an exited program shows up 0 with its final counts for
#                                 --forget-exited, then its series go while its segment stays;
#                                 with --forget-exited never a new serve keeps showing it
#   test_serve.sh BIN prometheus  a real Prometheus server scrapes serve every second; through its
#                                 HTTP query API a timer's _count arrives and grows, and (when the
#                                 build has the libuv example uv-server) a task type's exec time
#
# Everything listens on 127.0.0.1 only; private TK_DIR and Prometheus directory; every process
# started is stopped and every file removed on exit.
set -euo pipefail

BIN=$1 MODE=$2
PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tk-test-serve.XXXXXX")
export TK_DIR=$TMP/segments
mkdir -p "$TK_DIR"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "test_serve: $*" >&2
    for f in "$TMP"/serve*.err; do [ -s "$f" ] && sed "s|^|  ${f##*/}: |" "$f" | tail -20 >&2; done
    exit 1
}
need() { command -v "$1" >/dev/null || fail "$1 is not installed (scripts/install-deps.sh)"; }
need curl

# wait_for SECONDS CMD...: retries CMD every 0.1 s
wait_for() {
    local limit=$1; shift
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

if [ "$MODE" = sample ]; then
    need promtool
    "$BIN/prom_sample" text >"$TMP/text.txt"
    promtool check metrics <"$TMP/text.txt" || fail "promtool check metrics refused the sample"
    "$BIN/prom_sample" openmetrics >"$TMP/om.txt"
    $PY - "$TMP/om.txt" <<'EOF' || fail "the OpenMetrics parser refused the sample"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
ewc = fams["timekeeper_task_exec_with_children_seconds"]
assert ewc.type == "counter" and ewc.unit == "seconds", (ewc.type, ewc.unit)
by_fn = {s.labels["function"]: s.value for s in ewc.samples if s.name.endswith("_total")}
assert len(by_fn) == 11, sorted(by_fn)       # top 10 and other
assert abs(sum(by_fn.values()) - 0.002 * sum(range(1, 16))) < 1e-9, by_fn
assert abs(by_fn["other"] - 0.002 * (1 + 2 + 3 + 4 + 5)) < 1e-9, by_fn["other"]
assert [s.value for s in fams["timekeeper_program_value"].samples] == [-2]
assert fams["timekeeper_process_resident_bytes"].unit == "bytes"
names = {s.labels["process"] for s in fams["timekeeper_process_up"].samples}
assert 'gate"way\\\n' in names, names
print("sample: %d families parsed, top-k and other sum true" % len(fams))
EOF
    echo "test_serve sample: ok"
    exit 0
fi

GW_SECONDS=20 SERVE_ARGS=()
if [ "$MODE" = forget ]; then GW_SECONDS=3 SERVE_ARGS=(--forget-exited 2s); fi
"$BIN/gateway" --duration "$GW_SECONDS" --rate 2000 >"$TMP/gateway.out" 2>&1 &
GW=$!
PIDS+=("$GW")
wait_for 5 sh -c "ls '$TK_DIR' | grep -q ." || fail "gateway made no segment"

# start_serve LOG ARGS...: starts serve; URL becomes its address
start_serve() {
    local log=$1; shift
    "$BIN/timekeeper" serve --listen 127.0.0.1:0 --max-silence 5 "$@" 2>"$log" &
    PIDS+=("$!")
    wait_for 5 grep -q 'http://' "$log" || fail "serve did not start: $(cat "$log")"
    URL=$(sed -n 's|.*\(http://[^ ]*\)/metrics.*|\1|p' "$log" | head -1)
    [ -n "$URL" ] || fail "no URL in: $(cat "$log")"
}
start_serve "$TMP/serve.err" ${SERVE_ARGS[@]+"${SERVE_ARGS[@]}"}

has_count() { curl -sf "$URL/metrics" | grep -q 'timekeeper_timer_processing_seconds_count{.*timer="gw.risk"} [1-9]'; }
wait_for 10 has_count || fail "no gw.risk count in: $(curl -s "$URL/metrics" | head -50)"

case $MODE in
formats)
    need promtool
    curl -sf "$URL/metrics" >"$TMP/text.txt"
    promtool check metrics <"$TMP/text.txt" || fail "promtool check metrics refused the text format"
    curl -sf -D "$TMP/om.head" -H 'Accept: application/openmetrics-text; version=1.0.0' \
        "$URL/metrics" >"$TMP/om.txt"
    grep -qi '^content-type: application/openmetrics-text; version=1.0.0' "$TMP/om.head" ||
        fail "OpenMetrics content type: $(cat "$TMP/om.head")"
    $PY - "$TMP/om.txt" <<'EOF' || fail "the OpenMetrics parser refused the output"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
for name, typ in [("timekeeper_timer_processing_seconds", "histogram"),
                  ("timekeeper_timer_latency_seconds", "histogram"),
                  ("timekeeper_records_lost", "counter"), ("timekeeper_process_up", "gauge"),
                  ("timekeeper_process_silence_seconds", "gauge"),
                  ("timekeeper_program", "counter"), ("timekeeper_program_value", "gauge"),
                  ("timekeeper_stage_on", "gauge"), ("timekeeper_process_cpu_seconds", "counter"),
                  ("timekeeper_process_resident_bytes", "gauge"),
                  ("timekeeper_process_threads", "gauge"),
                  ("timekeeper_process_context_switches", "counter")]:
    assert name in fams, "missing family %s in %s" % (name, sorted(fams))
    assert fams[name].type == typ, "%s is %s, not %s" % (name, fams[name].type, typ)
assert fams["timekeeper_timer_processing_seconds"].unit == "seconds"
counts = [s for s in fams["timekeeper_timer_processing_seconds"].samples
          if s.name.endswith("_count") and s.labels["timer"] == "gw.risk"]
assert counts and counts[0].value > 0, counts
ctr = {s.labels["counter"]: s.value for s in fams["timekeeper_program"].samples}
assert ctr.get("gw.messages_in", 0) > 0 and "gw.published" in ctr, ctr
stages = {s.labels["stage"]: s.value for s in fams["timekeeper_stage_on"].samples}
assert stages == {"risk": 1, "publish": 1}, stages
assert fams["timekeeper_process_cpu_seconds"].unit == "seconds"
assert fams["timekeeper_process_resident_bytes"].samples[0].value > 0
assert fams["timekeeper_process_threads"].samples[0].value >= 4   # main and four actors
kinds = {s.labels["kind"] for s in fams["timekeeper_process_context_switches"].samples}
assert kinds == {"voluntary", "involuntary"}, kinds
print("openmetrics: %d families parsed" % len(fams))
EOF
    code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
    [ "$code" = 200 ] || fail "/healthz is $code while the gateway runs"
    kill "$GW"
    wait "$GW" 2>/dev/null || true
    quiet() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" = 503 ]; }
    wait_for 5 quiet || fail "/healthz is not 503 once the gateway is gone"
    curl -s "$URL/healthz" | grep -q 'no live instrumented process' || fail "503 says why"
    echo "test_serve formats: ok"
    ;;
forget)
    wait "$GW" 2>/dev/null || true
    # scrape: /metrics into $TMP/m.txt, retried while serve answers 503 (busy on a loaded machine)
    scrape() { wait_for 10 curl -sf -o "$TMP/m.txt" "$URL/metrics" || fail "no /metrics from $URL"; }
    down() { scrape; grep -q '^timekeeper_process_up{process="gateway",.*} 0$' "$TMP/m.txt"; }
    wait_for 5 down || fail "no process_up 0 once the gateway exited: $(grep process_up "$TMP/m.txt")"
    grep -q 'timekeeper_timer_processing_seconds_count{process="gateway",.*timer="gw.risk"} [1-9]' \
        "$TMP/m.txt" || fail "the exited gateway's final counts are not shown"
    gone() { scrape; ! grep -q 'process="gateway"' "$TMP/m.txt"; }
    wait_for 10 gone || fail "the gateway's series stay after --forget-exited 2s: $(grep -c 'process="gateway"' "$TMP/m.txt")"
    grep -q '^timekeeper_processes 0$' "$TMP/m.txt" || fail "timekeeper_processes is not 0"
    ls "$TK_DIR" | grep -q . || fail "the segment went with the series"
    # a serve that never forgets, started after the exit: the dead process shows, down, and stays
    start_serve "$TMP/serve2.err" --forget-exited never
    wait_for 5 down || fail "a new serve does not show the exited gateway"
    sleep 3
    down || fail "--forget-exited never forgot the gateway"
    echo "test_serve forget: ok (shown down with its counts, gone after 2 s, kept with never)"
    ;;
prometheus)
    need prometheus
    PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: timekeeper
    static_configs:
      - targets: ['${URL#http://}']
EOF
    prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
        --web.listen-address="127.0.0.1:$PORT" >"$TMP/prometheus.log" 2>&1 &
    PIDS+=("$!")
    API=http://127.0.0.1:$PORT
    wait_for 20 curl -sf "$API/-/ready" || fail "prometheus not ready: $(tail -5 "$TMP/prometheus.log")"
    # value QUERY: the first result's value, empty while there is none
    value() {
        curl -sf --get "$API/api/v1/query" --data-urlencode "query=$1" |
            $PY -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
    }
    Q='timekeeper_timer_processing_seconds_count{timer="gw.risk"}'
    arrived() { [ -n "$(value "$Q")" ]; }
    wait_for 20 arrived || fail "prometheus has no $Q; targets: $(curl -s "$API/api/v1/targets")"
    v1=$(value "$Q")
    grows() { $PY -c "import sys; sys.exit(0 if float('$(value "$Q")') > float('$v1') else 1)"; }
    wait_for 10 grows || fail "$Q did not grow past $v1"
    up=$(value 'up{job="timekeeper"}')
    [ "$up" = 1 ] || fail "the scrape target is not up: $up"
    p99=$(value "histogram_quantile(0.99, rate(timekeeper_timer_processing_seconds_bucket{timer=\"gw.risk\"}[5s]))")
    echo "test_serve prometheus: timers ok ($Q went from $v1 to $(value "$Q"); p99 ${p99:-n/a} s)"
    # task types, when the build has task profiling and its libuv example
    if [ -x "$BIN/uv-server" ]; then
        "$BIN/uv-server" --port 0 >"$TMP/uv.out" 2>&1 &
        PIDS+=("$!")
        wait_for 5 grep -q 'listening on' "$TMP/uv.out" || fail "uv-server did not start: $(cat "$TMP/uv.out")"
        UVPORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/uv.out")
        $PY - "$UVPORT" >"$TMP/uv-client.out" 2>&1 <<'EOF' &
import socket, sys, time
end = time.time() + 30
n = 0
while time.time() < end:
    try:
        with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as c:
            c.sendall(b"%d\n" % n)
            c.recv(100)
    except OSError:
        pass
    n += 1
    time.sleep(0.01)
EOF
        PIDS+=("$!")
        T='sum(timekeeper_task_exec_with_children_seconds_total{function="handle_request"})'
        targ() { [ -n "$(value "$T")" ] && [ "$(value "$T")" != 0 ]; }
        wait_for 20 targ || fail "prometheus has no $T: $(curl -s "$URL/metrics" | grep task_ | head)"
        t1=$(value "$T")
        tgrows() { $PY -c "import sys; sys.exit(0 if float('$(value "$T")') > float('$t1') else 1)"; }
        wait_for 10 tgrows || fail "$T did not grow past $t1"
        echo "test_serve prometheus: tasks ok ($T went from $t1 to $(value "$T"))"
    else
        echo "test_serve prometheus: task types skipped (no $BIN/uv-server in this build)"
    fi
    ;;
*) fail "unknown mode $MODE" ;;
esac
