#!/bin/sh
# test_sparse.sh — hostile sparse segments (valid headers claiming the largest tables, every ring
# claimed and full, nothing written): on a small tmpfs, `list` and `report --once` read none of
# the holes (the tmpfs does not fill, nothing faults), and their memory follows what the files
# hold. Root only (a private mount namespace with a 4 MiB tmpfs); skipped otherwise.
# Usage: test_sparse.sh BIN_DIR
set -eu
BIN=$1
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
    echo "sparse: skipped (needs root and unshare -m)"; exit 0
fi
exec unshare -m sh -eu -c '
BIN=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
mount --make-rprivate / 2>/dev/null || true
D=$(mktemp -d)
mount -t tmpfs -o size=4m tmpfs "$D" || { echo "sparse: skipped (no tmpfs mount)"; exit 0; }
trap "umount \"$D\"; rmdir \"$D\"" EXIT
for i in 0 1 2 3 4 5 6 7 8 9; do
    "$BIN/tk_sparse_segment" "$D/timekeeper-214748300$i-1.seg" >/dev/null
done
used() { df -k "$D" | awk "NR==2 {print \$3}"; }
before=$(used)
/usr/bin/time -f "%M" -o "$D/../tk-sparse-rss.$$" "$BIN/timekeeper" list --dir "$D" > /dev/null 2>&1 \
    || fail "list failed on sparse segments"
rss=$(cat "$D/../tk-sparse-rss.$$"); rm -f "$D/../tk-sparse-rss.$$"
"$BIN/timekeeper" report --once --dir "$D" > /dev/null 2>&1 || fail "report failed on sparse segments"
after=$(used)
[ "$after" -le $((before + 64)) ] || fail "reading allocated tmpfs pages: ${before} KiB used before, ${after} KiB after"
[ "$rss" -lt 204800 ] || fail "list used ${rss} KiB for 10 sparse segments"
ls "$D" | grep -c "\.seg$" | grep -qx 10 || fail "a viewer removed a segment"
echo "sparse: tmpfs ${before} -> ${after} KiB, list peak RSS ${rss} KiB"
echo "sparse: 1 passed, 0 failed"
' sh "$BIN"
