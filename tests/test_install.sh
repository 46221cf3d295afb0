#!/bin/sh
# test_install.sh — `cmake --install` puts the header, both libraries, the pkg-config file, the
# command and its man page under a prefix, and a program builds against it with pkg-config.
# Usage: test_install.sh BUILD_DIR
set -eu
BUILD=$1
PREFIX=$(mktemp -d "${TMPDIR:-/tmp}/tk-install.XXXXXX")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tk-install-work.XXXXXX")
trap 'rm -rf "$PREFIX" "$WORK"' EXIT

cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
fail() { echo "FAIL: $*" >&2; exit 1; }
for f in include/timekeeper.h lib/libtimekeeper.a lib/pkgconfig/timekeeper.pc bin/timekeeper \
         share/man/man1/timekeeper.1; do
    [ -e "$PREFIX/$f" ] || fail "missing $f under the prefix"
done
ls "$PREFIX"/lib/libtimekeeper.so* >/dev/null 2>&1 || fail "missing the shared library"

cat > "$WORK/app.c" <<'EOF'
#include <timekeeper.h>
#include <stdio.h>
int main(void)
{
    tk_timer_t *t = tk_timer("install.app");
    uint64_t s = tk_now();
    tk_record(t, s, tk_now(), 0);
    printf("%s %s\n", tk_timer_name(t), tk_strerror(TK_EINVAL));
    return 0;
}
EOF
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$WORK/app.c" -o "$WORK/app" $(pkg-config --cflags --libs timekeeper) \
    || fail "a program does not build with pkg-config"
out=$(TK_DIR="$WORK" LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/app")
[ "$out" = "install.app invalid argument" ] || fail "the installed library printed '$out'"
TK_DIR="$WORK" "$PREFIX/bin/timekeeper" report --once --json --dir "$WORK" | grep -q '"timer":"install.app"' \
    || fail "the installed command does not see the program's timer"
echo "install: ok"
