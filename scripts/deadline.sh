#!/usr/bin/env bash
# Runs a command under a deadline; a hang becomes a failure with a diagnostic dump.
#
#     scripts/deadline.sh SECONDS COMMAND [ARG...]
#
# The command runs in a process group of its own. If it is still running after SECONDS,
# every process of that group (the command and whatever it forked) is described on
# stderr before the group is killed: for each thread its /proc stat, wchan, syscall line
# and kernel stack, and, where gdb is installed, every thread's symbolised user-space
# backtrace. The exit status is then 124 (as with coreutils' timeout); otherwise it is
# the command's own.
#
# CI uses it as cargo's test runner (CARGO_TARGET_<TRIPLE>_RUNNER, see .ci/run), so every
# test binary gets its own deadline: DEADLINE_SECONDS stands in for SECONDS there.
set -uo pipefail

if [ $# -ge 2 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    limit=$1
    shift
elif [ $# -ge 1 ] && [ -n "${DEADLINE_SECONDS:-}" ]; then
    limit=$DEADLINE_SECONDS
else
    echo "usage: $0 SECONDS COMMAND [ARG...] (or DEADLINE_SECONDS=N $0 COMMAND...)" >&2
    exit 2
fi

# Job control gives the background command a process group of its own (pgid = its pid).
set -m
"$@" &
child=$!
set +m

# Threads of every process in the group `pgid`: what each one waits on, kernel and user side.
dump_group() { # PGID
    local pgid=$1 proc pid tid task field cmds
    for proc in /proc/[0-9]*; do
        pid=${proc#/proc/}
        # Field 5 of stat is the process group; the name in field 2 may hold spaces.
        read -r -a field < <(sed 's/^.*) //' "$proc/stat" 2>/dev/null) || continue
        [ "${field[2]:-}" = "$pgid" ] || continue
        echo "--- process $pid: $(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | cut -c1-200)"
        for task in "$proc"/task/*; do
            tid=${task##*/}
            echo "  thread $tid ($(cat "$task/comm" 2>/dev/null))"
            echo "    stat:    $(cat "$task/stat" 2>/dev/null)"
            echo "    wchan:   $(cat "$task/wchan" 2>/dev/null)"
            echo "    syscall: $(cat "$task/syscall" 2>/dev/null)"
            sed 's/^/    kernel: /' "$task/stack" 2>/dev/null
        done
        if command -v gdb >/dev/null; then
            # DEADLINE_GDB_EX: more gdb commands, separated by ';' (e.g. to print a lock).
            local extra=() cmd
            IFS=';' read -r -a cmds <<<"${DEADLINE_GDB_EX:-}"
            for cmd in "${cmds[@]}"; do extra+=(-ex "$cmd"); done
            timeout 60 gdb -q -batch -nx -p "$pid" -ex 'set pagination off' \
                -ex 'thread apply all bt' "${extra[@]}" 2>&1 |
                grep -vE '^\[|^Using host|^$|warning:' | sed 's/^/  gdb: /'
        fi
    done
}

deadline=$((SECONDS + limit))
while kill -0 "$child" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        {
            echo "DEADLINE: still running after $limit s, killed: $*"
            dump_group "$child"
            echo "DEADLINE: end of dump"
        } >&2
        kill -KILL -- "-$child" 2>/dev/null
        wait "$child" 2>/dev/null
        exit 124
    fi
    sleep 0.1
done
wait "$child"
