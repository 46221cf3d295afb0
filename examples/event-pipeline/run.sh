#!/bin/sh
# run.sh — records the event-pipeline example with `timekeeper record` and prints its
# per-component summary (summary.py): absolute, each callback per component with __ALL__, and the
# per-event table with the completed flag.
#
# usage: examples/event-pipeline/run.sh [BUILD_DIR] [PIPELINE OPTION...]
#   BUILD_DIR        the build tree (default: build); the recording goes to BUILD_DIR/event-pipeline.db
#   PIPELINE OPTION  --files N, --runs-per-file N, --events-per-run N, --abort-every N
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
[ $# -gt 0 ] && shift
db=$build/event-pipeline.db
"$build/bin/timekeeper" record --force --raw -o "$db" -- "$build/bin/pipeline" "$@"
echo
/usr/bin/python3 "$here/summary.py" "$db"
echo
echo "The recording is $db: open it with sqlite3 or Python's sqlite3 (docs/recording-schema.md)."
