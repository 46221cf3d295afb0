#!/bin/sh
# test_bench.sh — `timekeeper bench` end to end: two modes of the example HTTP server under wrk,
# one short run each; the logs, summary and graph are there, the mode with a stage off is cheaper
# per request, and no process it started is left (checked in /proc). Then a program that crashes
# mid-run (reported, the next run goes on) and Ctrl-C (everything stopped, exit 130).
#     sh test_bench.sh BIN_DIR
set -eu
bin=$1
tk=$bin/timekeeper
command -v wrk >/dev/null 2>&1 || { echo "wrk not installed: skipped"; exit 0; }
out=$(mktemp -d "${TMPDIR:-/tmp}/tk-bench-XXXXXX")
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
marker=tkbenchtest$$

# processes still running that this test started: their command line or environment names $out
# or the marker
strays() {
    for p in /proc/[0-9]*; do
        [ "${p#/proc/}" = "$$" ] && continue
        if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "$marker" ||
            { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -q "^TK_DIR=$out"; then
            echo "${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
        fi
    done
}

"$tk" bench --mode regular --mode no-render:TK_DISABLE_STAGES=render --runs 1 --duration 2s \
    --load "wrk -t1 -c4 -d{duration} --latency http://127.0.0.1:{port}/$marker" \
    -o "$out/b" --timer http.request -- "$bin/http-server" --port '{port}' >"$out/summary" 2>"$out/err" ||
    fail "bench exited $?: $(cat "$out/err")"
cat "$out/summary"
for f in 00_regular_1.log 01_no-render_1.log summary.txt summary.json; do
    [ -s "$out/b/$f" ] || fail "$f missing or empty"
done
grep -q '^stats - {' "$out/b/00_regular_1.log" || fail "no stats line"
grep -q '^resources - {' "$out/b/00_regular_1.log" || fail "no resources line"
grep -q '"http.requests":[1-9]' "$out/b/00_regular_1.log" || fail "no counted requests"
grep -q '"render":0' "$out/b/01_no-render_1.log" || fail "the render stage is not shown off"
if command -v gnuplot >/dev/null 2>&1; then
    [ -s "$out/b/graph.png" ] || fail "no graph"
fi
/usr/bin/python3 - "$out/b/summary.json" <<'PY' || fail "summary direction"
import json, sys
s = {m["name"]: m for m in json.load(open(sys.argv[1]))["modes"]}
reg, off = s["regular"], s["no-render"]
assert reg["runs_ok"] == 1 and off["runs_ok"] == 1, s
r, o = reg["cpu_us_per_request"]["mean"], off["cpu_us_per_request"]["mean"]
print(f"CPU per request: regular {r:.1f} us, no-render {o:.1f} us")
assert o < r, (r, o)
assert reg["requests_per_s"]["mean"] > 0 and reg["latency_p50_us"]["mean"] > 0
PY
s=$(strays); [ -z "$s" ] || fail "stray processes after bench: $s"

# a program that crashes during its run: said, and the next run goes on
cat >"$out/crashy.sh" <<EOF2
#!/bin/sh
"$bin/http-server" --port "\$1" & p=\$!
sleep 0.5; kill -SEGV \$p; wait \$p
EOF2
set +e
"$tk" bench --mode crashy --runs 2 --duration 2s --no-plot \
    --load "wrk -t1 -c2 -d{duration} http://127.0.0.1:{port}/$marker" -o "$out/c" \
    -- sh "$out/crashy.sh" '{port}' >/dev/null 2>"$out/cerr"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "every run failed: exit 1 expected, got $rc"
# (139: the shell reports the SIGSEGV; a sanitizer's handler makes it an exit status of its own)
[ "$(grep -c 'run 00_crashy_[12] failed: the program exited with status [0-9]* during the run' "$out/cerr")" -eq 2 ] ||
    fail "crash not reported per run: $(cat "$out/cerr")"
s=$(strays); [ -z "$s" ] || fail "stray processes after a crash: $s"

# Ctrl-C in the middle of a long run
"$tk" bench --runs 5 --duration 60s --no-plot \
    --load "wrk -t1 -c2 -d{duration} http://127.0.0.1:{port}/$marker" -o "$out/i" \
    -- "$bin/http-server" --port '{port}' >/dev/null 2>"$out/ierr" &
b=$!
i=0
until grep -q '^resources' "$out/i/00_regular_1.log" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { kill $b; fail "the interrupted bench never started its run"; }
    sleep 0.1
done
kill -INT $b
set +e
wait $b
rc=$?
set -e
[ "$rc" -eq 130 ] || fail "exit $rc after SIGINT, 130 expected"
grep -q interrupted "$out/ierr" || fail "no word of the interruption: $(cat "$out/ierr")"
s=$(strays); [ -z "$s" ] || fail "stray processes after Ctrl-C: $s"
echo "bench: ok"
