#!/usr/bin/env bash
# Runs a command N times in a row, each under scripts/deadline.sh, and counts outcomes:
# how often a rare hang or failure happens, and the dump of each one.
#
#     scripts/repeat.sh N SECONDS COMMAND [ARG...]
#
# Prints one line per failure or hang (its dump goes to repeat-dumps/RUN.log under
# REPEAT_DUMPS, default target/repeat-dumps), and the closing line
# "repeat: N passed, N failed" with the hang count and times; exits non-zero on any
# failure.
set -uo pipefail
[ $# -ge 3 ] || { echo "usage: $0 N SECONDS COMMAND [ARG...]" >&2; exit 2; }
runs=$1 limit=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
dumps=${REPEAT_DUMPS:-$here/../target/repeat-dumps}
mkdir -p "$dumps"
passed=0 failed=0 hangs=0 start=$SECONDS
for ((run = 1; run <= runs; run++)); do
    log=$dumps/run-$run.log
    "$here/deadline.sh" "$limit" "$@" >"$log" 2>&1
    rc=$?
    if [ $rc = 0 ]; then
        passed=$((passed + 1))
        rm -f "$log"
        continue
    fi
    failed=$((failed + 1))
    [ $rc = 124 ] && hangs=$((hangs + 1))
    echo "repeat: run $run exited $rc$([ $rc = 124 ] && echo ' (hang)'), output and dump: $log"
done
echo "repeat: $runs runs in $((SECONDS - start)) s, $hangs hangs"
echo "repeat: $passed passed, $failed failed"
[ $failed = 0 ]
