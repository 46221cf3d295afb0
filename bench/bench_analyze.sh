#!/usr/bin/env bash
# bench_analyze.sh — throughput of `timekeeper analyze` on a large synthetic log (goal: >= 100 MB/s).
#
# usage: bench/bench_analyze.sh [--quick] [TIMEKEEPER] [SIZE_MB]
#   TIMEKEEPER  the binary (default: build/bin/timekeeper)
#   SIZE_MB     size of the generated log (default: 1024; --quick: 128)
#
# The log imitates the Python -> C async flow of docs/analyze.md: send_request_and_await commands of 8 clients,
# two in flight at once (their lines interleave), one in four on the slow path (12 points, the others
# 6), the command id unknown ('-') before the FFI send, context fields with *_ns= numbers, and one line
# of program output every 8 commands. It is generated once into $TMPDIR (kept for the next run; delete
# it yourself) and then analysed with that flow's spec, without a spec, and with --json. Each run is
# timed after the file is in the page cache, so the number is the analyser's, not the disk's. Both the
# wall-clock rate and the rate per CPU second (user + system) are printed: on a busy machine the
# second is the one that measures the analyser.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
size_mb=1024
if [ "${1:-}" = "--quick" ]; then
    size_mb=128
    shift
fi
bin=${1:-$here/build/bin/timekeeper}
size_mb=${2:-$size_mb}
spec=$here/tests/data/analyze/reference.spec
log=${TMPDIR:-/tmp}/tk-bench-analyze-${size_mb}mb.log

if [ ! -x "$bin" ]; then
    echo "bench_analyze: no binary at $bin (build first, or pass its path)" >&2
    exit 1
fi

if [ ! -s "$log" ]; then
    echo "generating $log ($size_mb MB) ..." >&2
    awk -v limit="$((size_mb * 1024 * 1024))" '
    function p(label, t, cl, cmd, ctx) {
        line = "TIMING," label "," sprintf("%.0f", t) "," cl "," cmd "," cl + 100 "," ctx
        print line
        bytes += length(line) + 1
    }
    # Writes command c (client cl) starting at t; two commands are written at once, interleaved.
    function cmd_lines(c, cl, t, slow, k) {
        n = 0
        L[n] = "PY_SEND_AND_AWAIT_ENTRY";       T[n] = t;        I[n] = sprintf("%.0f", c); X[n++] = "op=PUT,key=user:" sprintf("%.0f", c)
        L[n] = "PY_BEFORE_ASYNC_SEND";          T[n] = t + 100;  I[n] = "-"; X[n++] = "op=Operation.PUT"
        L[n] = "PY_AFTER_ASYNC_SEND";           T[n] = t + 500;  I[n] = sprintf("%.0f", c);   X[n++] = "ffi_duration_ns=400"
        L[n] = "PY_BEFORE_FIRST_GET_RESPONSE";  T[n] = t + 550;  I[n] = sprintf("%.0f", c);   X[n++] = ""
        L[n] = "PY_AFTER_FIRST_GET_RESPONSE";   T[n] = t + 600;  I[n] = sprintf("%.0f", c);   X[n++] = "success=" (slow ? "False" : "True") ",get_response_duration_ns=50"
        if (slow) {
            w = 5000 + (c * 7919) % 100000
            L[n] = "PY_BEFORE_SELECT";              T[n] = t + 700;      I[n] = sprintf("%.0f", c); X[n++] = "efd=5"
            L[n] = "PY_AFTER_SELECT";               T[n] = t + 700 + w;  I[n] = sprintf("%.0f", c); X[n++] = "select_duration_ns=" w ",efd=5"
            L[n] = "PY_BEFORE_EFD_READ";            T[n] = t + 750 + w;  I[n] = sprintf("%.0f", c); X[n++] = ""
            L[n] = "PY_AFTER_EFD_READ";             T[n] = t + 800 + w;  I[n] = sprintf("%.0f", c); X[n++] = "read_duration_ns=50"
            L[n] = "PY_BEFORE_SECOND_GET_RESPONSE"; T[n] = t + 850 + w;  I[n] = sprintf("%.0f", c); X[n++] = ""
            L[n] = "PY_AFTER_SECOND_GET_RESPONSE";  T[n] = t + 900 + w;  I[n] = sprintf("%.0f", c); X[n++] = "success=True,get_response_duration_ns=50"
            L[n] = "PY_SEND_AND_AWAIT_EXIT_SLOW";   T[n] = t + 1000 + w; I[n] = sprintf("%.0f", c); X[n++] = "total_duration_ns=" (1000 + w)
        } else {
            L[n] = "PY_SEND_AND_AWAIT_EXIT_FAST";   T[n] = t + 700;      I[n] = sprintf("%.0f", c); X[n++] = "total_duration_ns=700"
        }
        for (k = 0; k < n; k++) { A[k] = L[k]; AT[k] = T[k]; AI[k] = I[k]; AX[k] = X[k] }
        return n
    }
    BEGIN {
        t = 1000000000; c = 0
        while (bytes < limit) {
            na = cmd_lines(c, c % 8, t, c % 4 == 3)
            for (k = 0; k < na; k++) { BA[k] = A[k]; BT[k] = AT[k]; BI[k] = AI[k]; BX[k] = AX[k] }
            nb = cmd_lines(c + 1, (c + 1) % 8, t + 37, (c + 1) % 4 == 3)
            i = 0; j = 0
            while (i < na || j < nb) {
                if (j >= nb || (i < na && BT[i] <= AT[j])) { p(BA[i], BT[i], c % 8, BI[i], BX[i]); i++ }
                else { p(A[j], AT[j], (c + 1) % 8, AI[j], AX[j]); j++ }
            }
            if (c % 8 == 0) { line = "INFO worker " c % 8 ": served " sprintf("%.0f", c) " requests"; print line; bytes += length(line) + 1 }
            c += 2
            t += 200000
        }
    }' > "$log"
fi

bytes=$(wc -c < "$log")
cat "$log" > /dev/null # into the page cache

# run NAME ARGS...: one timed run; prints `NAME: RATE (details; goal)` like the other benchmarks.
run() {
    local name=$1 t
    shift
    t=$( { TIMEFORMAT='%R %U %S'; time "$bin" analyze "$@" "$log" > /dev/null; } 2>&1 | tail -1)
    awk -v b="$bytes" -v t="$t" -v name="$name" 'BEGIN {
        split(t, f, " "); mb = b / 1048576; cpu = f[2] + f[3]
        printf "%s: %.1f MB/s per CPU second, %.1f MB/s wall (%.0f MB: cpu %.2f s, wall %.2f s; goal: >= 100 MB/s)\n",
               name, mb / cpu, mb / f[1], mb, cpu, f[1]
    }'
}

echo "timekeeper analyze throughput, log: $log ($(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) load)"
run analyze_spec --spec "$spec"
run analyze_no_spec
run analyze_spec_json --spec "$spec" --json
