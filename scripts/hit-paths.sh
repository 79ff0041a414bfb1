#!/usr/bin/env bash
# The hit paths, counted: disassembles release builds and counts, with
# scripts/hit_paths.py, the instructions of
#   - the per-CPU counter written four ways (examples/hit_paths.rs: `rseq!`,
#     `rseq!(registered, ...)`, PerCpuCounter::add, and librseq's shape by hand);
#   - the allocator's __rust_alloc and __rust_dealloc (alloc/examples/leaf.rs, with
#     rseq-dsl's `stats` on, as scripts/leaf-ci.sh builds it);
#   - the drop-in malloc's `malloc` and `free` (librseq_dsl_malloc.so; x86_64 glibc);
# for x86_64 and aarch64 (static musl builds linked by rust-lld, run natively or not at
# all: the counts are static), and writes docs/hit-paths.md from that run.
#
#     scripts/hit-paths.sh                    # about 2 minutes after the first build
#     HIT_PATHS_CHECK=1 scripts/hit-paths.sh  # CI: fail where a count grew past today's,
#                                             # and leave docs/ alone
set -euo pipefail
cd "$(dirname "$0")/.."
DL=scripts/deadline.sh
OUT=target/hit-paths
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools
objdump=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-objdump

# The critical sections' ranges come from rseq-verify's reading of the descriptors.
"$DL" 600 cargo build --quiet -p rseq-verify
VERIFY=target/debug/rseq-verify

count() { # [--with-calls] [--no-call-to SYMBOL] arch label binary function...
    local extra=()
    while [ "${1:0:2}" = -- ]; do
        case $1 in
            --with-calls) extra+=(--with-calls); shift ;;
            --no-call-to) extra+=(--no-call-to "$2"); shift 2 ;;
            *) echo "count: unknown option $1" >&2; return 2 ;;
        esac
    done
    local arch=$1 label=$2 binary=$3
    shift 3
    local dis=$OUT/$(basename "$binary").$arch.dis
    "$objdump" -d -C --no-show-raw-insn "$binary" >"$dis"
    "$VERIFY" --json "$binary" >"$dis.sections.json"
    local functions=()
    for f in "$@"; do functions+=(--function "$f"); done
    python3 scripts/hit_paths.py --arch "$arch" --label "$label" "${functions[@]}" \
        --sections "$dis.sections.json" --json "$RESULTS" "${extra[@]}" "$dis"
}

for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
    arch=${target%%-*}
    rustup target list --installed | grep -qx "$target" || rustup target add "$target"
    export CARGO_TARGET_DIR=target/leaf
    RUSTFLAGS="-C linker=rust-lld -C link-self-contained=yes" \
        "$DL" 900 cargo build --quiet --release --target "$target" --example hit_paths
    RUSTFLAGS="-C linker=rust-lld -C link-self-contained=yes" \
        "$DL" 900 cargo build --quiet --release --target "$target" \
        -p rseq-dsl-alloc --example leaf --features rseq-dsl/stats
    count "$arch" "counter" "$CARGO_TARGET_DIR/$target/release/examples/hit_paths" \
        counter_rseq counter_rseq_registered counter_percpu counter_handwritten
    count "$arch" "Rust global allocator" "$CARGO_TARGET_DIR/$target/release/examples/leaf" \
        __rust_alloc __rust_dealloc
done
unset CARGO_TARGET_DIR

# The drop-in malloc exists for glibc only: the host's x86_64 build.
"$DL" 900 cargo build --quiet --release -p rseq-dsl-malloc
# malloc and free call the allocator out of line: the wrappers' paths through that call,
# and the allocator's functions on their own.
# Their hit paths must reach the thread's words without `__tls_get_addr` (the static-tls
# feature: initial-exec TLS), a call that made them non-leaf before.
count --with-calls --no-call-to __tls_get_addr x86_64 "drop-in malloc (wrapper)" \
    target/release/librseq_dsl_malloc.so malloc free
count --no-call-to __tls_get_addr x86_64 "drop-in malloc" target/release/librseq_dsl_malloc.so \
    'GlobalAlloc$GT$::alloc::h' 'GlobalAlloc$GT$::dealloc::h'

# The counter example runs natively (musl: the runtime registers its own area).
"$DL" 60 target/leaf/x86_64-unknown-linux-musl/release/examples/hit_paths

if [ "${HIT_PATHS_CHECK:-0}" = 1 ]; then
    # Today's counts (docs/hit-paths.md): `rseq!(registered, ...)`'s counter is as long as
    # its work (the area, the index, the slot's address, the descriptor, the check, the add).
    python3 - "$RESULTS" <<'PY'
import json, sys
limits = {("counter_rseq_registered", "x86_64"): 12, ("counter_rseq_registered", "aarch64"): 17,
          ("counter_rseq", "x86_64"): 18, ("counter_rseq", "aarch64"): 30}
failed = False
for line in open(sys.argv[1]):
    row = json.loads(line)
    limit = limits.get((row["function"], row["arch"]))
    if limit is not None and row["instructions"] > limit:
        print(f"FAIL: {row['function']} ({row['arch']}): {row['instructions']} instructions, more than {limit}")
        failed = True
sys.exit(1 if failed else 0)
PY
    echo "hit-path counts hold"
    exit 0
fi
note="Built by rustc $(rustc -V | cut -d' ' -f2) in release mode, $(date -u +%Y-%m-%d); \
reproduce: \`scripts/hit-paths.sh\`."
python3 scripts/hit_paths.py --report docs/hit-paths.md --note "$note" "$RESULTS"
echo "wrote docs/hit-paths.md"
