#!/bin/sh
# test_demo.sh — the demo without a terminal: the gateway runs a few seconds under `report`, the
# output shows every actor's latency and processing rows and the totals, which count exactly the
# messages the gateway says it handled, and it exits 0 by itself.
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
# the report ran for the gateway's whole life: its totals count what the gateway says it did
line=$(echo "$out" | grep "^gateway: [0-9]* messages in, [0-9]* published$") \
    || { echo "$out"; echo "FAIL: no count line from the gateway"; exit 1; }
sent=$(echo "$line" | sed 's/^gateway: \([0-9]*\) messages in.*/\1/')
published=$(echo "$line" | sed 's/.*in, \([0-9]*\) published$/\1/')
totals=$(echo "$out" | sed -n '/^== totals ==/,$p')
total_of() { echo "$totals" | awk -v t="$1" -v k="$2" '$1 == t && $2 == k { print $3 }'; }
for t in gw.ingest gw.sequencer gw.risk sequencer.journal; do
    got=$(total_of "$t" processing)
    [ "$got" = "$sent" ] || { echo "$out"; echo "FAIL: totals count $got for $t processing, the gateway sent $sent"; exit 1; }
done
got=$(total_of gw.publisher processing)
[ "$got" = "$published" ] || { echo "$out"; echo "FAIL: totals count $got for gw.publisher, the gateway published $published"; exit 1; }
echo "demo: ok"
