#!/bin/sh
# demo.sh — runs the gateway example under the collector: the live TUI in a terminal, otherwise a
# report per second for the gateway's whole run, then the totals. Usage: demo.sh BIN_DIR
set -eu
BIN=${1:-build/bin}
TK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/timekeeper-demo.XXXXXX")
export TK_DIR
GW_PID=""
cleanup() {
    [ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null
    rm -rf "$TK_DIR"
}
trap cleanup EXIT INT TERM

if [ -t 1 ] && [ -t 0 ]; then
    "$BIN/gateway" --rate 20000 2>/dev/null &
    GW_PID=$!
    "$BIN/timekeeper" top --interval 0.5 || true
else
    # the report runs for the gateway's whole life: started first, stopped (SIGTERM: it prints
    # the totals) once the gateway has exited and its last records have been drained, so the
    # totals count exactly the messages the gateway reports
    "$BIN/timekeeper" report --interval 1 &
    REPORT_PID=$!
    "$BIN/gateway" --duration 4 --rate 20000 &
    GW_PID=$!
    wait "$GW_PID" || true
    GW_PID=""
    sleep 0.5 # rings are drained every 10 ms; an exited process to its last record
    kill -TERM "$REPORT_PID" 2>/dev/null || true
    wait "$REPORT_PID" || true
fi
