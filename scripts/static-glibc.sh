#!/usr/bin/env bash
# Static glibc: with `-C target-feature=+crt-static` on x86_64-unknown-linux-gnu, dlsym
# finds no `__rseq_offset`, so the runtime finds glibc's registration through weak
# references to `__rseq_offset` and `__rseq_size` instead. This builds the `whereami`
# example statically and checks that every thread reports the glibc owner and the rseq
# (fast) path, and, with glibc's registration turned off, an area of the runtime's own.
#
#     scripts/deadline.sh 300 bash scripts/static-glibc.sh
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
# --target keeps the flag off the host's proc-macro builds, which must stay dynamic.
# `--cfg rseq_dsl_vm`, as the VM builds: an example builds the dev-dependencies, and the
# host-only ones (criterion, trybuild...; root Cargo.toml) have nothing to do here.
RUSTFLAGS="-C target-feature=+crt-static --cfg rseq_dsl_vm" \
    cargo build --quiet --example whereami --target "$target"
bin=$target_dir/$target/debug/examples/whereami

if readelf -l "$bin" | grep -q INTERP || readelf -d "$bin" | grep -q NEEDED; then
    echo "FAIL: $bin is not statically linked" >&2
    exit 1
fi

# expect OWNER GLIBC_TUNABLES: every report line (main and four threads) names OWNER and
# the rseq path.
expect() {
    local owner=$1 tunables=$2 out lines
    out=$(GLIBC_TUNABLES=$tunables "$bin")
    echo "$out"
    lines=$(grep -c "by $owner, .* rseq path" <<<"$out" || true)
    if [ "$lines" -ne 5 ]; then
        echo "FAIL: expected 5 threads registered by $owner on the rseq path, saw $lines" >&2
        exit 1
    fi
}

echo "--- static whereami, glibc registers every thread"
expect Glibc ""
echo "--- static whereami, GLIBC_TUNABLES=glibc.pthread.rseq=0: the runtime's own areas"
expect Own glibc.pthread.rseq=0
echo "PASS: static glibc build finds glibc's registration and takes the rseq path"
