#!/usr/bin/env bash
# The drop-in malloc (alloc/malloc, package rseq-dsl-malloc): builds
# librseq_dsl_malloc.so and runs real programs under LD_PRELOAD, each under
# scripts/deadline.sh, with the library's statistics (RSEQ_MALLOC_STATS=<file>, one line
# per process at its exit) showing that it served them:
#
#   - tests/semantics.c (built with the host's gcc): glibc's semantics of every entry point
#     (errno, realloc(p, 0), alignment rules, overflow checks, usable sizes, free keeping
#     errno, glibc's own blocks freed through it), threads whose first call is a malloc,
#     forks while other threads allocate; again with glibc's rseq registration off (the
#     runtime registers its own areas);
#   - gcc compiling and linking that file (gcc, cc1, as, collect2, ld preloaded);
#   - python3 (PYTHONMALLOC=malloc, so that every object comes from malloc) building,
#     serialising and sorting a few hundred thousand objects on four threads;
#   - sort of a few MB on two threads, its output compared with an unpreloaded sort's;
#   - a bash loop that forks (command substitutions, background subshells);
#   - tests/newdelete.cpp, compiled by g++ under the library too: libstdc++'s new and
#     delete (plain, array, nothrow, over-aligned) on four threads.
#
#     scripts/malloc-ci.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$SECONDS
DL=$ROOT/scripts/deadline.sh
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$TARGET_DIR/malloc-ci
rm -rf "$WORK"
mkdir -p "$WORK"
export LC_ALL=C

echo "building librseq_dsl_malloc.so (release)"
"$DL" 600 cargo build --release -p rseq-dsl-malloc
SO=$TARGET_DIR/release/librseq_dsl_malloc.so
test -f "$SO"

# g++ for the C++ test: installed if missing, only where apt would remove nothing.
if ! command -v g++ >/dev/null; then
    echo "g++ is missing: installing it"
    # The lock scripts/vm/lib.sh's apt_turn takes (.ci/run may be installing beside it).
    APT_LOCK=${RSEQ_DSL_APT_LOCK:-/tmp/rseq-dsl-apt.lock}
    "$DL" 300 flock "$APT_LOCK" apt-get update -qq
    plan=$("$DL" 120 apt-get -s install -y g++)
    if grep -q '^Remv' <<<"$plan"; then
        echo "FAIL: installing g++ would remove packages:" >&2
        grep '^Remv' <<<"$plan" >&2
        exit 1
    fi
    "$DL" 600 flock "$APT_LOCK" apt-get install -y -qq g++
fi

# preloaded LABEL PROGRAM MIN COMMAND...: runs COMMAND with the library preloaded and its
# statistics appended to $WORK/LABEL.stats, then requires a line of a process named
# PROGRAM with at least MIN small allocations and some cache hits.
preloaded() {
    local label=$1 program=$2 min=$3 t0=$SECONDS
    shift 3
    local stats=$WORK/$label.stats
    "$DL" 120 env LD_PRELOAD="$SO" RSEQ_MALLOC_STATS="$stats" "$@"
    if [ ! -s "$stats" ]; then
        echo "FAIL: $label: no statistics: the library did not serve it" >&2
        exit 1
    fi
    # The busiest process of that name: small allocations, then cache hits.
    local best
    best=$(sed -n "s/^rseq-dsl-malloc: $program \[[0-9]*\]: small allocs \([0-9]*\) frees [0-9]* (cache hits \([0-9]*\),.*/\1 \2/p" \
        "$stats" | sort -n | tail -1)
    if [ -z "$best" ]; then
        echo "FAIL: $label: no statistics of a process named $program:" >&2
        cat "$stats" >&2
        exit 1
    fi
    local allocs=${best% *} hits=${best#* }
    if [ "$allocs" -lt "$min" ] || [ "$hits" -eq 0 ]; then
        echo "FAIL: $label: $program made $allocs small allocations ($hits cache hits), expected at least $min:" >&2
        cat "$stats" >&2
        exit 1
    fi
    echo "ok: $label ($((SECONDS - t0)) s): $(wc -l <"$stats") processes served; busiest $program:"
    grep "^rseq-dsl-malloc: $program \[" "$stats" | sort -t' ' -k6 -n | tail -1 | sed 's/^/    /'
}

SRC=$ROOT/alloc/malloc/tests

echo
echo "== the C semantics test"
"$DL" 120 gcc -O1 -Wall -Werror -pthread -o "$WORK/semantics" "$SRC/semantics.c"
preloaded semantics semantics 300000 "$WORK/semantics"
GLIBC_TUNABLES=glibc.pthread.rseq=0 preloaded semantics-own-areas semantics 300000 "$WORK/semantics"

echo
echo "== gcc compiling and linking a file"
preloaded gcc cc1 20000 gcc -O2 -pthread -o "$WORK/semantics-built-preloaded" "$SRC/semantics.c"
"$DL" 120 env LD_PRELOAD="$SO" "$WORK/semantics-built-preloaded" >/dev/null

echo
echo "== python3, every object from malloc"
PY=$(python3 -c 'import sys; print(sys.executable)')
PYTHONMALLOC=malloc preloaded python3 "$(basename "$PY")" 500000 "$PY" -c '
import json, threading
d = {str(i): [i, str(i) * 3, {"k": i}] for i in range(100000)}
text = json.dumps(d)
assert json.loads(text) == d
def work(seed):
    items = [(i * 7919 + seed) % 100003 for i in range(50000)]
    words = sorted(str(x) * (x % 5 + 1) for x in items)
    assert len(words) == 50000
threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print("python3:", len(text), "bytes of JSON, 4 threads sorted")
'

echo
echo "== sort of a few MB"
awk 'BEGIN { srand(7); for (i = 0; i < 250000; i++) printf "%08x %d %s\n", int(rand() * 4294967295), i, substr("abcdefghijklmnopqrstuvwxyz", 1, i % 26) }' \
    >"$WORK/sort-input"
echo "input: $(wc -c <"$WORK/sort-input") bytes"
# sort's data lives in a few large buffers (glibc's, through the library); its small
# allocations are a few dozen.
preloaded sort sort 20 sort --parallel=2 -S 16M -o "$WORK/sort-preloaded" "$WORK/sort-input"
"$DL" 120 sort --parallel=2 -S 16M -o "$WORK/sort-plain" "$WORK/sort-input"
cmp "$WORK/sort-plain" "$WORK/sort-preloaded"

echo
echo "== a bash loop that forks"
# shellcheck disable=SC2016 # the script is bash's, expanded there
preloaded bash bash 500 bash -c '
sum=0
for i in $(seq 100); do
    x=$(echo "$i")
    sum=$((sum + x))
    (y=$(printf "%s" "$x"); [ "$y" = "$x" ]) &
done
wait
[ "$sum" -eq 5050 ] || { echo "bash: wrong sum $sum" >&2; exit 1; }
echo "bash: 100 command substitutions and 100 background subshells"
'
forks=$(grep -c '^rseq-dsl-malloc: bash \[' "$WORK/bash.stats")
if [ "$forks" -lt 200 ]; then
    echo "FAIL: bash: $forks processes reported statistics, expected the shell and at least 200 children" >&2
    exit 1
fi

echo
echo "== C++ new and delete (g++ compiling under the library too)"
preloaded g++ cc1plus 20000 g++ -O1 -Wall -Werror -pthread -o "$WORK/newdelete" "$SRC/newdelete.cpp"
preloaded newdelete newdelete 100000 "$WORK/newdelete"

echo
echo "malloc-ci: every program ran under the drop-in malloc ($((SECONDS - START)) s)"
