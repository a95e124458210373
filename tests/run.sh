#!/bin/sh
# Runs the C unit tests (cmocka, TAP output) and the Busted specs (TAP), and
# ends with one line "N passed, N failed" summed over both.
# Usage: tests/run.sh build/tests/test_a build/tests/test_b ...
top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp) one=$(mktemp)
trap 'rm -f "$log" "$one"' EXIT
crashed=0
for t in "$@"; do
    echo "# $t"
    # a binary that fails without a failed test in its own output crashed
    if ! CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$one" 2>&1; then
        grep '^not ok' "$one" | grep -qv '# SKIP' || crashed=$((crashed + 1))
    fi
    cat "$one" >>"$log"
done
cat "$log"
clog=$log
blog=$(mktemp)
trap 'rm -f "$log" "$one" "$blog"' EXIT
cd "$top" || exit 1
if [ "$SANITIZE" = 1 ]; then
    # lua5.4 itself is not instrumented: the sanitizer runtimes go first. It
    # exits without closing its state, so leaks are checked by the C tests
    # and make memcheck instead.
    LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
    export LD_PRELOAD ASAN_OPTIONS
fi
LUA_PATH="$top/lua/?.lua;$top/tests/lua/?.lua;;" LUA_CPATH="$top/build/?.so;;" NNLAB_THREADS=${NNLAB_THREADS:-1} \
    lua5.4 /usr/bin/busted -o TAP tests/lua >"$blog" 2>&1
brc=$?
cat "$blog"
# A skipped test is "ok N # SKIP" in busted's TAP and "not ok N # SKIP" in
# cmocka's (a kernel this CPU lacks): neither passed nor failed.
passed=$(cat "$clog" "$blog" | grep '^ok ' | grep -vc '# SKIP')
skipped=$(cat "$clog" "$blog" | grep -E '^(not )?ok ' | grep -c '# SKIP')
failed=$(cat "$clog" "$blog" | grep '^not ok ' | grep -vc '# SKIP')
if [ "$brc" -ne 0 ] && ! grep -q '^not ok' "$blog"; then
    echo "# busted exited with status $brc"
    failed=$((failed + 1))
fi
failed=$((failed + crashed))
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
