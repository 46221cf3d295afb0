#!/bin/sh
# bench_export.sh — `timekeeper export` of a recording of 10 M raw spans (two threads) to each
# format: records/s and peak resident memory. One run each; the recording and outputs are removed.
# usage: bench_export.sh BIN_DIR [SPAN_PAIRS_PER_THREAD]
set -eu
BIN=$1
PAIRS=${2:-2500000}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$BIN/tk_fake_recording" "$T/run.db" --raw "$PAIRS" --threads 2
for args in "--format perfetto" "--format perfetto --no-flows" "--format chrome" "--format csv"; do
    # shellcheck disable=SC2086
    /usr/bin/time -f "%M" -o "$T/rss" "$BIN/timekeeper" export $args -o "$T/out" "$T/run.db" 2>"$T/err"
    printf 'export %-28s %s, peak RSS %s KiB, %s MB written\n' "$args" \
        "$(sed -n 's/.*in \([0-9.]*s (.*records\/s)\).*/\1/p' "$T/err")" "$(tail -1 "$T/rss")" \
        "$(( $(stat -c %s "$T/out") / 1000000 ))"
    rm -f "$T/out"
done
