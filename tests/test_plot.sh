#!/bin/sh
# test_plot.sh — `timekeeper plot`: a PNG and an SVG from two logs, panels and legends named from
# the files, options after the logs, a clear failure without gnuplot.
#     sh test_plot.sh BIN_DIR SOURCE_DIR
set -eu
bin=$1/timekeeper
data=$2/tests/data/stats
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tk-plot-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

if ! command -v gnuplot >/dev/null 2>&1; then
    echo "gnuplot not installed: skipping the image checks"
    "$bin" plot "$data/00_regular.log" -o "$tmp/x.png" 2>"$tmp/err" && fail "plot without gnuplot succeeded"
    grep -q gnuplot "$tmp/err" || fail "no word of gnuplot: $(cat "$tmp/err")"
    exit 0
fi

# the logs first, the options after them
"$bin" plot "$data/00_regular.log" "$data/01_no-publish.log" -o "$tmp/g.png" --timer handle \
    >"$tmp/out" || fail "plot png: $(cat "$tmp/out")"
[ "$(head -c 8 "$tmp/g.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] || fail "not a PNG"
[ "$(wc -c <"$tmp/g.png")" -gt 20000 ] || fail "PNG too small"
grep -q '5 panels, 2 logs' "$tmp/out" || fail "summary: $(cat "$tmp/out")"

"$bin" plot --timer handle -o "$tmp/g.svg" "$data/00_regular.log" "$data/01_no-publish.log" >/dev/null
for text in CPU RSS requests 'handle p50' 'handle p99' regular no-publish 'time (s)' MiB 'per second'; do
    grep -q ">$text<\|$text" "$tmp/g.svg" || fail "the SVG has no '$text'"
done
# the series are coloured from the leading number: 00 and 01 get different colours
grep -q 'rgb( *31, *119, *180)' "$tmp/g.svg" || fail "colour 0 missing"
grep -q 'rgb(214, *39, *40)' "$tmp/g.svg" || fail "colour 1 missing"

# no gnuplot: says so, exit 1
set +e
"$bin" plot --gnuplot /nonexistent/gnuplot "$data/00_regular.log" -o "$tmp/n.png" 2>"$tmp/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "exit $rc without gnuplot"
grep -q 'gnuplot-nox' "$tmp/err" || fail "message: $(cat "$tmp/err")"
# a log with nothing to plot, a bad output name
printf 'hello\n' >"$tmp/empty.log"
"$bin" plot "$tmp/empty.log" -o "$tmp/e.png" 2>/dev/null && fail "empty log plotted"
"$bin" plot "$data/00_regular.log" -o "$tmp/x.jpg" 2>/dev/null && fail ".jpg accepted"
echo "plot: ok"
