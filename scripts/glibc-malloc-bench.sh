#!/usr/bin/env bash
# glibc's own malloc benchmarks, bench-malloc-thread and bench-malloc-simple (sources from
# Debian's glibc-source package, compiled unchanged with the host's gcc), run under
# LD_PRELOAD with glibc's malloc, mimalloc (libmimalloc2.0), jemalloc (libjemalloc2),
# tcmalloc (libtcmalloc-minimal4) and the drop-in malloc (librseq_dsl_malloc.so), side by
# side in one run: every benchmark and argument with each allocator back to back (in an
# order rotated from run to run), repeated GLIBC_MALLOC_BENCH_RUNS times, each process
# under scripts/deadline.sh. docs/glibc-malloc-bench.md, docs/glibc-malloc-bench.svg and
# the README's one-line summary are written from that run by
# scripts/glibc_malloc_bench_report.py. scripts/alloc-bench.sh runs it as its second table.
#
#   scripts/glibc-malloc-bench.sh            # (4 thread counts x 5 s + 5 block sizes x 5) x 5 allocators x 3 runs: about 8 min
#   GLIBC_MALLOC_BENCH_SECONDS=1 GLIBC_MALLOC_BENCH_RUNS=1 GLIBC_MALLOC_BENCH_THREADS="1 8" \
#       GLIBC_MALLOC_BENCH_SIZES=64 scripts/glibc-malloc-bench.sh   # a quick look (under a minute)
#
# The Debian packages are fetched once (apt-get download, this machine's own sources: all
# four are in bookworm) into target/glibc-malloc-bench/debs and unpacked there (dpkg -x):
# nothing is installed. The programs are glibc's; the build glue is ours:
# scripts/glibc-malloc-bench-glue.c (GLIBC_MALLOC_BENCH_SECONDS in place of
# bench-malloc-thread's fixed 10 s, and a copy of /proc/self/maps for the checks below).
#
# Before measuring, every allocator runs each program once with LD_DEBUG=bindings and
# the glue's copy of its maps: the script fails unless the program's malloc and free bind
# to the preloaded library (to libc.so.6 for glibc) and that library is mapped (none of the
# others for glibc). Every run of ours writes its statistics (RSEQ_MALLOC_STATS), and the
# script fails unless they count the program's allocations.
#
# Environment: GLIBC_MALLOC_BENCH_RUNS (default ALLOC_BENCH_RUNS, else 3),
# GLIBC_MALLOC_BENCH_SECONDS (bench-malloc-thread's duration; 5, glibc's own is 10),
# GLIBC_MALLOC_BENCH_THREADS ("1 2 8 32"), GLIBC_MALLOC_BENCH_SIZES (bench-malloc-simple's
# block sizes, "16 64 256 1024 2048"), GLIBC_MALLOC_BENCH_ALLOCATORS,
# GLIBC_MALLOC_BENCH_SIMPLE_REPEAT (bench-malloc-simple's repetitions in each run, 5: each of
# its timings spans a few ms, which one preemption distorts), CARGO_TARGET_DIR
# (where our library is built; target/glibc-malloc-bench/build by default),
# GLIBC_MALLOC_BENCH_REV (build ours from that commit, exported with git archive, instead
# of the working tree).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DL=$ROOT/scripts/deadline.sh
RUNS=${GLIBC_MALLOC_BENCH_RUNS:-${ALLOC_BENCH_RUNS:-3}}
SECS=${GLIBC_MALLOC_BENCH_SECONDS:-5}
THREADS=${GLIBC_MALLOC_BENCH_THREADS:-"1 2 8 32"}
SIZES=${GLIBC_MALLOC_BENCH_SIZES:-"16 64 256 1024 2048"}
SIMPLE_REPEAT=${GLIBC_MALLOC_BENCH_SIMPLE_REPEAT:-5}
ALLOCATORS=${GLIBC_MALLOC_BENCH_ALLOCATORS:-"glibc mimalloc jemalloc tcmalloc rseq"}
PACKAGES="glibc-source libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4"
OUT=$ROOT/target/glibc-malloc-bench
DEBS=$OUT/debs
TREE=$OUT/tree
BUILD=$OUT/build-c
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$OUT/build}
export LC_ALL=C
START=$SECONDS
log() { echo "[glibc-malloc-bench +$((SECONDS - START))s] $*" >&2; }
die() {
    echo "[glibc-malloc-bench] ERROR: $*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------
# The Debian packages, once: downloaded from this machine's own APT sources, unpacked.
# ---------------------------------------------------------------------------------------
# The version APT would fetch, if any (not `apt-cache policy | grep -q`: grep's early exit
# would fail the pipe).
candidate() { apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: \([0-9].*\)/\1/p'; }
mkdir -p "$DEBS"
for pkg in $PACKAGES; do
    compgen -G "$DEBS/${pkg}_*.deb" >/dev/null && continue
    if [ -z "$(candidate "$pkg")" ]; then
        log "$pkg has no candidate: apt-get update"
        "$DL" 300 apt-get update -qq
        [ -n "$(candidate "$pkg")" ] ||
            die "$pkg: no candidate in this machine's APT sources (bookworm has it)"
    fi
    log "downloading $pkg"
    # As root apt would hand the download to its _apt user, who may not write here.
    (cd "$DEBS" && "$DL" 300 apt-get download -qq -o APT::Sandbox::User=root "$pkg")
done
VERSIONS=""
for deb in "$DEBS"/*.deb; do
    VERSIONS+="${VERSIONS:+, }$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
done
if [ ! -e "$TREE/unpacked" ]; then
    rm -rf "$TREE"
    mkdir -p "$TREE"
    for deb in "$DEBS"/*.deb; do
        "$DL" 300 dpkg -x "$deb" "$TREE"
    done
    touch "$TREE/unpacked"
fi
LIBDIR=$TREE/usr/lib/x86_64-linux-gnu
tarball=$(compgen -G "$TREE/usr/src/glibc/glibc-*.tar.xz" | head -1) ||
    die "no glibc tarball in glibc-source"
GLIBC_SRC_VERSION=$(basename "$tarball" .tar.xz)

# ---------------------------------------------------------------------------------------
# glibc's benchmark programs (and the few headers they include), built with the host gcc.
# ---------------------------------------------------------------------------------------
SRC=$OUT/src/$GLIBC_SRC_VERSION
if [ ! -e "$SRC/extracted" ]; then
    rm -rf "$SRC"
    mkdir -p "$SRC"
    "$DL" 300 tar -xJf "$tarball" -C "$SRC" --strip-components=1 \
        "$GLIBC_SRC_VERSION/benchtests/bench-malloc-thread.c" \
        "$GLIBC_SRC_VERSION/benchtests/bench-malloc-simple.c" \
        "$GLIBC_SRC_VERSION/benchtests/bench-timing.h" \
        "$GLIBC_SRC_VERSION/benchtests/json-lib.h" \
        "$GLIBC_SRC_VERSION/benchtests/json-lib.c" \
        "$GLIBC_SRC_VERSION/sysdeps/generic/hp-timing.h" \
        "$GLIBC_SRC_VERSION/sysdeps/generic/hp-timing-common.h"
    touch "$SRC/extracted"
fi
mkdir -p "$BUILD/include" "$OUT/bin"
# hp-timing-common.h includes glibc's internal <_itoa.h> for a macro the benchmarks never
# use: an empty one stands in. USE_CLOCK_GETTIME: times from clock_gettime(CLOCK_MONOTONIC)
# in ns (as glibc's `make bench USE_CLOCK_GETTIME=1`), not rdtsc cycles.
: >"$BUILD/include/_itoa.h"
CFLAGS=(-O2 -std=gnu11 -pthread -D_ISOMAC -DUSE_CLOCK_GETTIME
    -I"$BUILD/include" -I"$SRC" -I"$SRC/sysdeps/generic" -I"$SRC/benchtests")
GLUE=$ROOT/scripts/glibc-malloc-bench-glue.c
log "compiling bench-malloc-thread and bench-malloc-simple ($GLIBC_SRC_VERSION, $(gcc -dumpfullversion))"
"$DL" 120 gcc "${CFLAGS[@]}" -Dalarm=glue_alarm -o "$OUT/bin/bench-malloc-thread" \
    "$SRC/benchtests/bench-malloc-thread.c" "$SRC/benchtests/json-lib.c" "$GLUE" -lm
"$DL" 120 gcc "${CFLAGS[@]}" -o "$OUT/bin/bench-malloc-simple" \
    "$SRC/benchtests/bench-malloc-simple.c" "$SRC/benchtests/json-lib.c" "$GLUE" -lm

# Ours: from the working tree, or from a commit exported with git archive
# (GLIBC_MALLOC_BENCH_REV: the working tree is shared with edits in progress).
REV=${GLIBC_MALLOC_BENCH_REV:-}
if [ -n "$REV" ]; then
    sha=$(git rev-parse --verify "$REV^{commit}")
    crate_dir=$OUT/rev-$sha
    if [ ! -e "$crate_dir/exported" ]; then
        rm -rf "$crate_dir"
        mkdir -p "$crate_dir"
        git archive "$sha" | tar -x -C "$crate_dir"
        touch "$crate_dir/exported"
    fi
    OURS_FROM="commit $(git rev-parse --short "$sha")"
    # A target folder of its own: cargo hashes path packages relative to the workspace
    # root and judges them fresh by mtime, so the export (files dated at the commit) would
    # reuse artifacts built from the working tree in a shared one.
    export CARGO_TARGET_DIR=$crate_dir/target
else
    crate_dir=$ROOT
    OURS_FROM="the working tree at $(git rev-parse --short HEAD)"
    if [ -n "$(git status --porcelain -- Cargo.toml Cargo.lock src runtime macros alloc)" ]; then
        OURS_FROM+=" with uncommitted changes"
    fi
fi
log "building librseq_dsl_malloc.so (release, from $OURS_FROM, in $CARGO_TARGET_DIR)"
(cd "$crate_dir" && "$DL" 900 nice cargo build --quiet --release -p rseq-dsl-malloc)
SO=$CARGO_TARGET_DIR/release/librseq_dsl_malloc.so
test -f "$SO" || die "no $SO"

library() { # ALLOCATOR: the path LD_PRELOAD gets (empty for glibc)
    case $1 in
    glibc) echo "" ;;
    mimalloc) echo "$LIBDIR/libmimalloc.so.2" ;;
    jemalloc) echo "$LIBDIR/libjemalloc.so.2" ;;
    tcmalloc) echo "$LIBDIR/libtcmalloc_minimal.so.4" ;;
    rseq) echo "$SO" ;;
    *) die "unknown allocator $1" ;;
    esac
}
for allocator in $ALLOCATORS; do
    lib=$(library "$allocator")
    [ -z "$lib" ] || [ -f "$lib" ] || die "$allocator: no $lib"
done

# run_bench ALLOCATOR PROGRAM ARG OUTPUT [VAR=VALUE...]: the program under LD_PRELOAD of
# the allocator's library (nothing inherited), under a deadline; its JSON to OUTPUT, and
# "wall user sys" seconds of the process to OUTPUT.time (bash's `time`).
run_bench() {
    local allocator=$1 program=$2 arg=$3 output=$4 lib
    shift 4
    lib=$(library "$allocator")
    local envs=(-u LD_PRELOAD -u RSEQ_MALLOC_STATS -u LD_DEBUG GLIBC_MALLOC_BENCH_SECONDS="$SECS")
    [ -z "$lib" ] || envs+=(LD_PRELOAD="$lib")
    local whole=${SECS%%.*}
    # shellcheck disable=SC2016 # expanded by the inner bash
    "$DL" $((120 + ${whole:-0} * 2)) bash -c \
        'TIMEFORMAT="%3R %3U %3S"; { time env "${@:3}" >"$1"; } 2>"$2"' \
        _ "$output" "$output.time" "${envs[@]}" "$@" "$OUT/bin/bench-malloc-$program" "$arg"
}

# ---------------------------------------------------------------------------------------
# The preloads, checked on the programs themselves before anything is measured.
# ---------------------------------------------------------------------------------------
V=$OUT/verify
rm -rf "$V"
mkdir -p "$V"
verify=$OUT/verify.jsonl
: >"$verify"
others_real=()
for a in mimalloc jemalloc tcmalloc rseq; do
    others_real+=("$(readlink -f "$(library "$a")")")
done
log "checking the preloads: LD_DEBUG=bindings, the program's own /proc/self/maps"
for allocator in $ALLOCATORS; do
    lib=$(library "$allocator")
    for program in thread simple; do
        arg=2
        [ "$program" = thread ] || arg=64
        tag=$allocator-$program
        extra=(LD_DEBUG=bindings LD_DEBUG_OUTPUT="$V/ld-$tag" GLIBC_MALLOC_BENCH_MAPS="$V/maps-$tag")
        [ "$allocator" != rseq ] || extra+=(RSEQ_MALLOC_STATS="$V/stats-$tag")
        SECS=0.3 run_bench "$allocator" "$program" "$arg" "$V/out-$tag" "${extra[@]}"
        bin=$OUT/bin/bench-malloc-$program
        bound=()
        for sym in malloc free; do
            # The objects the program's own references to SYM were bound to.
            to=$(cat "$V/ld-$tag".* |
                sed -n "s|.*binding file $bin \[0\] to \(.*\) \[0\]: normal symbol \`$sym'.*|\1|p" | sort -u)
            if [ -z "$lib" ]; then
                [ "$(basename "$to")" = libc.so.6 ] ||
                    die "$tag: $sym bound to '${to//$'\n'/, }', not libc.so.6"
            else
                [ "$to" = "$lib" ] || die "$tag: $sym bound to '${to//$'\n'/, }', not $lib"
            fi
            bound+=("$to")
        done
        libc_to=$(cat "$V/ld-$tag".* |
            sed -n "s|.*binding file [^ ]*/libc.so.6 \[0\] to \(.*\) \[0\]: normal symbol \`malloc'.*|\1|p" | sort -u)
        [ -s "$V/maps-$tag" ] || die "$tag: the program wrote no maps"
        if [ -z "$lib" ]; then
            for other in "${others_real[@]}"; do
                ! grep -qF "$other" "$V/maps-$tag" || die "$tag: $other is mapped in glibc's run"
            done
            mapped=$(grep -o '/[^ ]*/libc\.so\.6$' "$V/maps-$tag" | sort -u | head -1) ||
                die "$tag: libc.so.6 is not mapped"
        else
            real=$(readlink -f "$lib")
            grep -qF "$real" "$V/maps-$tag" || die "$tag: $real is not mapped"
            mapped=$real
        fi
        if [ "$allocator" = rseq ]; then
            grep -q "^rseq-dsl-malloc: bench-malloc-$program \[[0-9]*\]: small allocs [1-9]" "$V/stats-$tag" ||
                die "$tag: no statistics of ours counting allocations: $(cat "$V/stats-$tag" 2>/dev/null)"
        fi
        printf '{"allocator": "%s", "program": "bench-malloc-%s", "malloc": "%s", "free": "%s", "libc_malloc": "%s", "mapped": "%s"}\n' \
            "$allocator" "$program" "${bound[0]}" "${bound[1]}" "${libc_to//$'\n'/ }" "$mapped" >>"$verify"
    done
    log "ok: $allocator: malloc and free of both programs bound to ${lib:-libc.so.6}, mapped"
done

# ---------------------------------------------------------------------------------------
# The measurements: every run of every argument with the allocators back to back.
# ---------------------------------------------------------------------------------------
# check_ours PROGRAM OUTPUT STATS: ours served the program's allocations: its counters
# (small ones plus those handed to glibc) at least the benchmark's own count.
check_ours() {
    local program=$1 output=$2 stats=$3 line expected served
    line=$(grep "^rseq-dsl-malloc: bench-malloc-$program \[" "$stats" | tail -1) ||
        die "ours, $program: no statistics line in $stats"
    if [ "$program" = thread ]; then
        expected=$(sed -n 's/.*"iterations": \([^,]*\).*/\1/p' "$output")
    else
        # Warm-up and three scenarios, each 200000 malloc/free pairs in four batch sizes.
        expected=3200000
    fi
    served=$(sed -n 's/.*small allocs \([0-9]*\) .*glibc allocs \([0-9]*\) .*/\1 \2/p' <<<"$line")
    awk -v e="$expected" -v s="$served" 'BEGIN { split(s, n, " "); exit !(n[1] + n[2] >= e * 0.999) }' ||
        die "ours, $program: statistics ($line) count fewer allocations than the benchmark's $expected"
}

json_string() { # TEXT: as a JSON string
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

results=$OUT/results.jsonl
: >"$results"
read -r -a order <<<"$ALLOCATORS"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$OUT/work
mkdir -p "$work"
for run in $(seq "$RUNS"); do
    # The allocators' order, rotated by one each run.
    shift_by=$(((run - 1) % ${#order[@]}))
    rotated=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
    for program in thread simple; do
        args=$THREADS
        repeat=1
        if [ "$program" = simple ]; then
            args=$SIZES
            repeat=$SIMPLE_REPEAT
        fi
        for arg in $args; do
            for rep in $(seq "$repeat"); do
                for allocator in "${rotated[@]}"; do
                    output=$work/out
                    stats=$work/stats
                    rm -f "$stats"
                    extra=()
                    [ "$allocator" != rseq ] || extra=(RSEQ_MALLOC_STATS="$stats")
                    load=$(cut -d' ' -f1 /proc/loadavg)
                    run_bench "$allocator" "$program" "$arg" "$output" "${extra[@]}"
                    stats_line=""
                    if [ "$allocator" = rseq ]; then
                        check_ours "$program" "$output" "$stats"
                        stats_line=$(grep "^rseq-dsl-malloc: bench-malloc-$program \[" "$stats" | tail -1)
                    fi
                    read -r wall user sys <"$output.time"
                    printf '{"program": "bench-malloc-%s", "arg": %s, "allocator": "%s", "run": %s, "rep": %s, "wall": %s, "user": %s, "sys": %s, "load1": %s, "stats": %s, "output": %s}\n' \
                        "$program" "$arg" "$allocator" "$run" "$rep" "$wall" "$user" "$sys" "$load" \
                        "$(json_string "$stats_line")" "$(tr -d '\n' <"$output")" >>"$results"
                done
            done
            log "run $run/$RUNS: bench-malloc-$program $arg done"
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
note="$(nproc) vCPU ($cpu), kernel $(uname -r), glibc $(ldd --version | head -1 | sed 's/.* //'), \
gcc $(gcc -dumpfullversion); load average (1, 5, 15 min) $load_before before the run and \
$load_after after it (the machine is shared with other builds); $RUNS runs, \
bench-malloc-thread ${SECS} s per measurement, bench-malloc-simple $SIMPLE_REPEAT times in each run, $(date -u +%Y-%m-%d). Debian packages: $VERSIONS; \
rseq-dsl-malloc built from $OURS_FROM."
# The command that reproduces this run: the script and the settings it was given.
command=""
for var in $(compgen -e | { grep '^GLIBC_MALLOC_BENCH_' || true; } | sort); do
    command+="$var=${!var@Q} "
done
command+="scripts/glibc-malloc-bench.sh"
python3 scripts/glibc_malloc_bench_report.py --results "$results" --verify "$verify" \
    --doc docs/glibc-malloc-bench.md --svg docs/glibc-malloc-bench.svg --readme README.md \
    --note "$note" --command "$command"
log "done"
