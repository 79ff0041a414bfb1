#!/usr/bin/env bash
# The allocator benchmarks, one run, side by side: builds alloc/bench once per allocator
# (glibc's malloc, mimalloc, jemalloc, rseq-dsl-alloc; each the #[global_allocator] of its
# own binary), runs every workload at each thread count with the four allocators back to
# back, repeated ALLOC_BENCH_RUNS times (interleaved, so that a burst of load from other
# processes hits all four alike), and writes docs/alloc-bench.md's tables and docs/alloc-bench.svg
# from that run (scripts/alloc_bench_report.py). The second table follows:
# scripts/glibc-malloc-bench.sh, glibc's own malloc benchmarks (bench-malloc-thread and
# bench-malloc-simple) under LD_PRELOAD with glibc, mimalloc, jemalloc, tcmalloc and the
# drop-in malloc (docs/glibc-malloc-bench.md; about 8 min more, its runs ALLOC_BENCH_RUNS
# unless GLIBC_MALLOC_BENCH_RUNS says otherwise; ALLOC_BENCH_GLIBC=0 leaves it out).
#
#   scripts/alloc-bench.sh                       # 5 workloads x 6 thread counts x 4 allocators x 3 runs x 1 s: about 7 min, then the second table
#   ALLOC_BENCH_SECONDS=0.3 ALLOC_BENCH_RUNS=1 ALLOC_BENCH_THREADS="1 8" ALLOC_BENCH_GLIBC=0 scripts/alloc-bench.sh   # a quick look
#
# The first build compiles jemalloc from source (a few minutes). Needs a C compiler (cc)
# for larson-c. Not part of CI; the workloads are (alloc/tests/workloads.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_EACH=${ALLOC_BENCH_SECONDS:-1}
RUNS=${ALLOC_BENCH_RUNS:-3}
THREADS=${ALLOC_BENCH_THREADS:-"1 2 4 8 16 32"}
WORKLOADS=${ALLOC_BENCH_WORKLOADS:-"larson larson-c xmalloc-test glibc-thread churn"}
ALLOCATORS="glibc mimalloc jemalloc rseq"
OUT=$ROOT/target/alloc-bench
export CARGO_TARGET_DIR=$OUT/build
mkdir -p "$OUT/bin"

for allocator in $ALLOCATORS; do
    features=()
    if [ "$allocator" != glibc ]; then
        features=(--features "$allocator")
    fi
    cargo build --quiet --release --manifest-path alloc/bench/Cargo.toml "${features[@]}"
    cp "$CARGO_TARGET_DIR/release/rseq-dsl-alloc-bench" "$OUT/bin/$allocator"
done

# larson through the C ABI (alloc/bench/c/larson.c): each allocator preloaded as the
# process's malloc, rseq-dsl-alloc as rseq-dsl-malloc, mimalloc and jemalloc through a shim
# (alloc/bench/c/preload.c) over the static libraries their crates built above.
# Fat LTO and one codegen unit, as the Rust binaries above (alloc/bench's profile).
CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    cargo build --quiet --release -p rseq-dsl-malloc
cc -O2 -pthread alloc/bench/c/larson.c -o "$OUT/bin/larson-c"
static_lib() { find "$CARGO_TARGET_DIR/release/build" -path "*/$1-*/out/*" -name "$2" | head -1; }
cc -O2 -fPIC -shared -DPREFIX=mi_ alloc/bench/c/preload.c \
    "$(static_lib libmimalloc-sys libmimalloc.a)" -pthread -o "$OUT/bin/libmimalloc-preload.so"
cc -O2 -fPIC -shared -DPREFIX=_rjem_ alloc/bench/c/preload.c \
    "$(static_lib tikv-jemalloc-sys libjemalloc_pic.a)" -pthread -lm -o "$OUT/bin/libjemalloc-preload.so"
preload_glibc=""
preload_mimalloc=$OUT/bin/libmimalloc-preload.so
preload_jemalloc=$OUT/bin/libjemalloc-preload.so
preload_rseq=$CARGO_TARGET_DIR/release/librseq_dsl_malloc.so
declare -A NAME=([glibc]=glibc [mimalloc]=mimalloc [jemalloc]=jemalloc [rseq]=rseq-dsl-alloc)

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results=$OUT/results.jsonl
: >"$results"
for run in $(seq "$RUNS"); do
    for workload in $WORKLOADS; do
        for threads in $THREADS; do
            for allocator in $ALLOCATORS; do
                # A run that overruns its deadline fails the script (and is dumped).
                if [ "$workload" = larson-c ]; then
                    preload=preload_$allocator
                    scripts/deadline.sh 120 env LD_PRELOAD="${!preload}" "$OUT/bin/larson-c" \
                        "${NAME[$allocator]}" "$threads" "$SECONDS_EACH" >>"$results"
                else
                    scripts/deadline.sh 120 "$OUT/bin/$allocator" "$workload" "$threads" "$SECONDS_EACH" >>"$results"
                fi
            done
            echo "run $run/$RUNS: $workload x $threads done" >&2
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
note="$(nproc) vCPU ($cpu), kernel $(uname -r), glibc $(ldd --version | head -1 | sed 's/.* //'); \
load average (1, 5, 15 min) $load_before before the run and $load_after after it \
(the machine is shared with other builds); ${SECONDS_EACH} s per measurement, $(date -u +%Y-%m-%d). \
Reproduce: \`scripts/alloc-bench.sh\`."
python3 scripts/alloc_bench_report.py --results "$results" --readme docs/alloc-bench.md \
    --svg docs/alloc-bench.svg --note "$note"

# The second table: glibc's programs under LD_PRELOAD, its library built in its own target
# folder (not this script's, which holds alloc/bench's builds).
if [ "${ALLOC_BENCH_GLIBC:-1}" != 0 ]; then
    env -u CARGO_TARGET_DIR scripts/glibc-malloc-bench.sh
fi
