#!/bin/sh
# test_install.sh — `cmake --install` (what `make install PREFIX=...` runs) puts the header, both
# libraries, the pkg-config file, the CMake package, the command and its man page under a prefix,
# without a CMake warning; the README's examples/hello/hello.c builds against it the way the README
# says, with pkg-config and with find_package(timekeeper), and runs without LD_LIBRARY_PATH.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -eu
BUILD=$1
SRC=$2
PREFIX=$(mktemp -d "${TMPDIR:-/tmp}/tk-install.XXXXXX")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tk-install-work.XXXXXX")
trap 'rm -rf "$PREFIX" "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "cmake --install failed"; }
if grep -q "CMake Warning\|CMake Deprecation" "$WORK/install.log"; then
    cat "$WORK/install.log"; fail "cmake --install printed a CMake warning"
fi
for f in include/timekeeper.h lib/libtimekeeper.a lib/pkgconfig/timekeeper.pc bin/timekeeper \
         share/man/man1/timekeeper.1 lib/cmake/timekeeper/timekeeperConfig.cmake \
         lib/cmake/timekeeper/timekeeperConfigVersion.cmake lib/cmake/timekeeper/timekeeperTargets.cmake; do
    [ -e "$PREFIX/$f" ] || fail "missing $f under the prefix"
done
ls "$PREFIX"/lib/libtimekeeper.so* >/dev/null 2>&1 || fail "missing the shared library"

# the README's way: pkg-config, then run it as is (the .pc's rpath finds libtimekeeper.so)
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
unset LD_LIBRARY_PATH
cp "$SRC/examples/hello/hello.c" "$WORK/hello.c"
# shellcheck disable=SC2046
(cd "$WORK" && cc -std=c11 -Wall -Wextra -Werror hello.c $(pkg-config --cflags --libs timekeeper) -o hello) \
    || fail "hello.c does not build with pkg-config"
ldd "$WORK/hello" | grep -q "libtimekeeper.so.0 => $PREFIX/lib/" \
    || { ldd "$WORK/hello"; fail "hello does not load libtimekeeper.so from the prefix"; }
mkdir "$WORK/seg"
out=$(TK_DIR="$WORK/seg" "$WORK/hello") || fail "hello (pkg-config) exited $?: $out"
case $out in "hello: 1000 orders timed"*) ;; *) fail "hello printed '$out'" ;; esac
"$PREFIX/bin/timekeeper" report --once --json --dir "$WORK/seg" >"$WORK/report.json"
grep -q '"timer":"orders.handle","kind":"processing",.*"count":1000,' "$WORK/report.json" \
    || { cat "$WORK/report.json"; fail "the installed command does not see hello's 1000 spans"; }
rm -f "$WORK/seg"/*

# the CMake way: a consumer project with find_package(timekeeper)
mkdir "$WORK/consumer"
cat > "$WORK/consumer/CMakeLists.txt" <<CMK
cmake_minimum_required(VERSION 3.16)
project(tk_consumer LANGUAGES C)
find_package(timekeeper 0.1 REQUIRED)
add_executable(hello "$WORK/hello.c")
target_link_libraries(hello PRIVATE timekeeper::timekeeper)
add_executable(hello_static "$WORK/hello.c")
target_link_libraries(hello_static PRIVATE timekeeper::timekeeper_static)
CMK
cmake -S "$WORK/consumer" -B "$WORK/consumer/build" -DCMAKE_PREFIX_PATH="$PREFIX" >"$WORK/consumer.log" 2>&1 \
    || { cat "$WORK/consumer.log"; fail "find_package(timekeeper) failed"; }
cmake --build "$WORK/consumer/build" >>"$WORK/consumer.log" 2>&1 || { cat "$WORK/consumer.log"; fail "the consumer does not build"; }
for exe in hello hello_static; do
    out=$(TK_DIR="$WORK/seg" "$WORK/consumer/build/$exe") || fail "$exe (CMake) exited $?: $out"
    case $out in "hello: 1000 orders timed"*) ;; *) fail "$exe (CMake) printed '$out'" ;; esac
done
ldd "$WORK/consumer/build/hello_static" | grep -q libtimekeeper && fail "hello_static loads libtimekeeper.so"
[ "$(ls "$WORK/seg" | wc -l)" = 2 ] || fail "expected two segments from the CMake-built programs"
echo "install: ok"
