#!/bin/sh
# run.sh — runs the async-flow example (a Python client of a C library with an asynchronous
# operation) and prints where the time of a request goes: FFI send, FFI get, select wait, eventfd
# read and Python overhead, on the fast and the slow path, plus the C side (binding, callback,
# eventfd write, wake-up).
#
# usage: examples/async-flow/run.sh [--build DIR] [--live] [--json] [--keep FILE] [CLIENT OPTION...]
#   --build DIR   the build tree (default: build, next to this repository's CMakeLists.txt)
#   --live        read the points from the rings while the client runs (`timekeeper analyze
#                 --live`) instead of TIMING text lines; see "text or rings" below
#   --json        the analysis as JSON
#   --keep FILE   keep the TIMING log (text mode) in FILE
#   CLIENT OPTION passed to client.py: --duration S (default 3), --delay-us US (500),
#                 --fast-share F (0.3), --mode sync|async|both, --in-flight N (4), --requests N
#
# Text or rings: by default the client runs with TK_TIMING=1, every point is also written as a TIMING
# line to a file, and `timekeeper analyze --spec async-flow.spec` reads the file, as a program
# measured without a collector would be. Writing a line is a write(2) per point (a microsecond or more), and the intervals include
# it. With --live the points are only stored in the rings (tens of ns) and analysed as they are drained,
# so the numbers are the program's own; intervals across threads (e.g. `wake`) are matched only when
# both of their points are drained in order.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
live=0
keep=
json=
# run.sh's own options may come anywhere; the others are rotated to the end of "$@" for client.py
n=$#
while [ "$n" -gt 0 ]; do
    a=$1; shift; n=$((n - 1))
    case $a in
    --build|--keep)
        [ "$n" -gt 0 ] || { echo "run.sh: $a needs a value" >&2; exit 2; }
        if [ "$a" = --build ]; then build=$1; else keep=$1; fi
        shift; n=$((n - 1)) ;;
    --build=*) build=${a#--build=} ;;
    --keep=*) keep=${a#--keep=} ;;
    --live) live=1 ;;
    --json) json=--json ;;
    -h|--help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) set -- "$@" "$a" ;;
    esac
done
case $build in /*) ;; *) build=$(pwd)/$build ;; esac

tk=$build/bin/timekeeper
for f in "$tk" "$build/python/timekeeper/__init__.py"; do
    if [ ! -e "$f" ]; then
        echo "run.sh: $f is missing; build first: cmake -S . -B build && cmake --build build" >&2
        exit 1
    fi
done
if ! ls "$build"/examples/async-flow/_asyncflow.*.so >/dev/null 2>&1; then
    echo "run.sh: the _asyncflow extension is not built in $build/examples/async-flow" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/async-flow.XXXXXX")
analyze_pid=
cleanup() {
    if [ -n "$analyze_pid" ]; then kill "$analyze_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# With --json only the JSON document goes to stdout; the rest to stderr.
info=1
[ -n "$json" ] && info=2

# The segments go to a directory of their own, removed at the end.
export TK_DIR="$tmp"
export PYTHONPATH="$build/python:$build/examples/async-flow${PYTHONPATH:+:$PYTHONPATH}"
unset TK_DISABLE TK_TIMING TK_TIMING_FILE

if [ "$live" = 1 ]; then
    "$tk" analyze --live --dir "$tmp" --spec "$here/async-flow.spec" $json >"$tmp/analysis" &
    analyze_pid=$!
    sleep 0.2
    /usr/bin/python3 "$here/client.py" "$@" >&$info
    sleep 0.3 # the last drain
    kill -TERM "$analyze_pid" # it stops, drains a last time and prints (SIGINT is ignored in
                              # a background job of a non-interactive shell)
    wait "$analyze_pid" || { echo "run.sh: timekeeper analyze --live failed" >&2; exit 1; }
    analyze_pid=
    echo >&$info
    cat "$tmp/analysis"
else
    TK_TIMING=1 TK_TIMING_FILE="$tmp/timing.log" /usr/bin/python3 "$here/client.py" "$@" >&$info
    echo "$(grep -c '^TIMING,' "$tmp/timing.log") points written as TIMING lines" \
         "(each costs a write(2); --live for the ring path)" >&$info
    echo >&$info
    "$tk" analyze --spec "$here/async-flow.spec" $json "$tmp/timing.log"
    if [ -n "$keep" ]; then
        cp "$tmp/timing.log" "$keep"
        echo "TIMING log kept in $keep" >&$info
    fi
fi
