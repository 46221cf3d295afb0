#!/bin/sh
# test_demo.sh — the demo without a terminal: the gateway runs a few seconds under `report`, the
# output shows every actor's latency and processing rows and the totals, and it exits 0 by itself.
# Usage: test_demo.sh BIN_DIR SOURCE_DIR
set -eu
BIN=$1
SRC=$2
out=$(sh "$SRC/examples/gateway/demo.sh" "$BIN" </dev/null 2>&1) || { echo "$out"; echo "FAIL: demo exited $?"; exit 1; }
for t in gw.ingest gw.sequencer gw.risk gw.publisher sequencer.journal; do
    echo "$out" | grep -q "^  $t  *processing  *[1-9]" || { echo "$out"; echo "FAIL: no processing row with records for $t"; exit 1; }
done
for t in gw.sequencer gw.risk gw.publisher; do
    echo "$out" | grep -q "^  $t  *latency  *[1-9]" || { echo "$out"; echo "FAIL: no latency row for $t"; exit 1; }
done
echo "$out" | grep -q "== totals ==" || { echo "$out"; echo "FAIL: no totals"; exit 1; }
echo "demo: ok"
