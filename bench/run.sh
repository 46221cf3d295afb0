#!/bin/sh
# bench/run.sh — runs every benchmark and `timekeeper calibrate`, then prints a summary (make bench).
# Builds nothing: expects the binaries in BIN (default build/bin).
#
#     sh bench/run.sh [--quick] [BIN]
#
# Default durations take under ~3 minutes (bench_soak runs 30 s, bench_clock 60 s); --quick, passed
# on to every benchmark, under 30 s. Benchmarks never assert: each prints `name: value unit (goal: ...)`
# lines, collected in the summary. Exit status: 0 when every benchmark ran, 1 when one could not run
# (missing binary or a non-zero exit), 2 on bad usage.
set -u

quick=""
bin=build/bin
for arg in "$@"; do
    case "$arg" in
    --quick) quick=--quick ;;
    -h | --help)
        sed -n '2,/^[^#]/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "run.sh: unknown option '$arg' (usage: sh bench/run.sh [--quick] [BIN])" >&2
        exit 2
        ;;
    *) bin=$arg ;;
    esac
done

out=$(mktemp -d "${TMPDIR:-/tmp}/timekeeper-bench-XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT INT TERM
failed=""
start_all=$(date +%s)

# run NAME ARGS...: runs $bin/NAME, shows its output, keeps it for the summary
run() {
    name=$1
    shift
    if [ ! -x "$bin/$name" ]; then
        echo "== $name: not found in $bin (build first: make build)"
        failed="$failed $name"
        return
    fi
    echo "== $name $*"
    t0=$(date +%s)
    "$bin/$name" "$@" >"$out/$name.txt" 2>&1
    rc=$?
    cat "$out/$name.txt"
    echo "   ($name: exit $rc, $(($(date +%s) - t0)) s)"
    [ "$rc" -eq 0 ] || failed="$failed $name"
}

echo "timekeeper benchmarks: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -srm), $(nproc 2>/dev/null || echo '?') CPUs," \
    "$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo

run bench_record $quick
run bench_counter $quick
run bench_drain $quick
run bench_hist $quick
run bench_task $quick
run bench_recorder $quick
run bench_soak $quick
run bench_clock $quick
run bench_otlp $quick
run timekeeper calibrate $quick

# scripts: NAME SCRIPT ARGS... (same bookkeeping as run)
run_script() {
    name=$1
    shift
    echo "== $name $*"
    t0=$(date +%s)
    bash "$@" >"$out/$name.txt" 2>&1
    rc=$?
    cat "$out/$name.txt"
    echo "   ($name: exit $rc, $(($(date +%s) - t0)) s)"
    [ "$rc" -eq 0 ] || failed="$failed $name"
}
here=$(cd "$(dirname "$0")" && pwd)
# its generated log goes to $out, removed at the end
if [ -n "$quick" ]; then
    TMPDIR=$out run_script bench_analyze "$here/bench_analyze.sh" --quick "$bin/timekeeper"
else
    TMPDIR=$out run_script bench_analyze "$here/bench_analyze.sh" "$bin/timekeeper" 256
fi
if [ -x "$bin/tk_burst" ]; then
    TMPDIR=$out run_script bench_pipeline "$here/bench_pipeline.sh" "$bin" $quick
else
    echo "== bench_pipeline: skipped (needs $bin/tk_burst, built with the tests)"
fi
if command -v tmux >/dev/null 2>&1 && [ -x "$bin/top_producer" ]; then
    run_script bench_top "$here/bench_top.sh" "$bin" $quick
else
    echo "== bench_top: skipped (needs tmux and $bin/top_producer, built with the tests)"
fi
if [ -f "$bin/../python/timekeeper/asyncio.py" ]; then
    echo "== bench_asyncio $quick"
    PYTHONPATH=$bin/../python TMPDIR=$out /usr/bin/python3 "$here/bench_asyncio.py" $quick \
        >"$out/bench_asyncio.txt" 2>&1
    rc=$?
    cat "$out/bench_asyncio.txt"
    [ "$rc" -eq 0 ] || failed="$failed bench_asyncio"
else
    echo "== bench_asyncio: skipped (the Python extension is not built)"
fi
if [ -f "$bin/../python/timekeeper/calibrate.py" ]; then
    # the Python binding's costs against its floors (docs/python.md); the verdicts as summary lines
    echo "== python_calibrate $quick"
    PYTHONPATH=$bin/../python /usr/bin/python3 -m timekeeper.calibrate $quick \
        >"$out/python_calibrate.txt" 2>&1
    rc=$?
    sed -n 's|^point() / noop() = \([0-9.]*\) \(.*\)|python_point_to_noop: \1 x \2|p;
            s|^point(label, client, command, session) / noop_point(same) = \([0-9.]*\) \(.*\)|python_point_ids_to_noop_point: \1 x \2|p' \
        "$out/python_calibrate.txt" >>"$out/python_calibrate.txt"
    cat "$out/python_calibrate.txt"
    [ "$rc" -eq 0 ] || failed="$failed python_calibrate"
else
    echo "== python_calibrate: skipped (the Python extension is not built)"
fi
run bench_serve $quick
if [ -x "$bin/top_producer" ] && [ -x "$bin/timekeeper" ]; then
    run_script bench_serve_cpu "$here/bench_serve.sh" "$bin" $quick
else
    echo "== bench_serve_cpu: skipped (needs $bin/top_producer, built with the tests)"
fi

echo
echo "== summary ($(($(date +%s) - start_all)) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"
for name in bench_record bench_drain bench_hist bench_task bench_recorder bench_soak bench_clock bench_analyze bench_pipeline bench_top bench_asyncio python_calibrate bench_serve bench_serve_cpu; do
    f="$out/$name.txt"
    [ -f "$f" ] || continue
    grep -E '^[a-z0-9_]+: ' "$f" | grep -v '^bench_' | sed 's/^/  /'
done
if [ -f "$out/timekeeper.txt" ]; then
    grep -E '^clock: |the floor|tk_now\(\)|floor \(' "$out/timekeeper.txt" | sed 's/^ */  calibrate: /'
fi
if [ -n "$failed" ]; then
    echo "did not run:$failed"
    exit 1
fi
exit 0
