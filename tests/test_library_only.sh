#!/bin/sh
# test_library_only.sh — libtimekeeper builds with libc and pthread alone: configured with
# TK_LIBRARY_ONLY=ON where pkg-config finds no package and no Python is given, it builds, installs
# and links hello.c; and the whole project configures without ncurses, cmocka and Python, saying
# once for each what it leaves out.
# Usage: test_library_only.sh SOURCE_DIR
set -eu
SRC=$1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tk-libonly.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# no .pc file is found, so neither ncursesw nor cmocka; no Python interpreter either
export PKG_CONFIG_LIBDIR="$WORK/no-pkgconfig"
NOPY=-DPython3_EXECUTABLE="$WORK/no-python3"

cmake -S "$SRC" -B "$WORK/lib" -DTK_LIBRARY_ONLY=ON -DTK_WERROR=ON >"$WORK/lib.log" 2>&1 \
    || { cat "$WORK/lib.log"; fail "the library-only configure failed"; }
grep -q "TK_LIBRARY_ONLY=ON: building libtimekeeper only" "$WORK/lib.log" || { cat "$WORK/lib.log"; fail "no library-only message"; }
grep -qi "warning" "$WORK/lib.log" && { cat "$WORK/lib.log"; fail "the library-only configure warned"; }
cmake --build "$WORK/lib" -j2 >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; fail "the library-only build failed"; }
cmake --install "$WORK/lib" --prefix "$WORK/prefix" >/dev/null || fail "the library-only install failed"
[ ! -e "$WORK/prefix/bin/timekeeper" ] || fail "the library-only build installed the command"
PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig"
export PKG_CONFIG_PATH
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$SRC/examples/hello/hello.c" -o "$WORK/hello" \
    $(pkg-config --cflags --libs timekeeper) || fail "hello.c does not build against the library-only install"
mkdir "$WORK/seg"
out=$(TK_DIR="$WORK/seg" "$WORK/hello") || fail "hello exited $?"
case $out in "hello: 1000 orders timed"*) ;; *) fail "hello printed '$out'" ;; esac

# the whole project without the optional packages: configures, with one message for each
cmake -S "$SRC" -B "$WORK/full" "$NOPY" >"$WORK/full.log" 2>&1 || { cat "$WORK/full.log"; fail "the configure without optional packages failed"; }
for m in "ncursesw not found" "cmocka not found" "Python 3.10+ development files not found"; do
    grep -q "$m" "$WORK/full.log" || { cat "$WORK/full.log"; fail "no message '$m'"; }
done
echo "library-only: ok"
