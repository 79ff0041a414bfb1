#!/usr/bin/env bash
# The allocator's hit paths are leaves: `__rust_alloc` and `__rust_dealloc` of a program
# whose global allocator is RseqAlloc (alloc/examples/leaf.rs) make no call but tail calls
# and save no registers, on x86_64 and on aarch64 (without LSE, where an atomic add is a
# call to an outline atomic), with rseq-dsl's `stats` on: a `registered` section's
# expansion makes no call on any path, its abort path included.
#
# Static musl builds linked by rust-lld (no cross linker or libc needed), disassembled by
# rustup's llvm-objdump (the llvm-tools component).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools
targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
objdump=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-objdump

failed=0
for t in "${targets[@]}"; do
    CARGO_TARGET_DIR=target/leaf RUSTFLAGS="-C linker=rust-lld -C link-self-contained=yes" \
        scripts/deadline.sh 600 cargo build --quiet --release --target "$t" \
        -p rseq-dsl-alloc --example leaf --features rseq-dsl/stats
    "$objdump" -d -C --no-show-raw-insn "target/leaf/$t/release/examples/leaf" >"target/leaf/$t.dis"
    python3 - "$t" "target/leaf/$t.dis" <<'PY' || failed=1
import re, sys
target, path = sys.argv[1], sys.argv[2]
arm = target.startswith("aarch64")
# A call (not a tail call) or a save of a callee-saved register / the return address.
bad = re.compile(r"\t(bl|blr)\t|\tstp\t|\tstr\tx(19|2\d|30)," if arm else r"\tcall|\tpush")
functions, current = {}, None
for line in open(path):
    header = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
    if header:
        name = header.group(1)
        current = name if name.endswith(("::__rust_alloc", "::__rust_dealloc")) else None
        if current:
            functions[current] = []
    elif current and line.strip():
        functions[current].append(line.rstrip())
if len(functions) != 2:
    print(f"{target}: expected __rust_alloc and __rust_dealloc, found {sorted(functions)}")
    sys.exit(1)
ok = True
for name, body in sorted(functions.items()):
    offending = [l for l in body if bad.search(l)]
    tails = [l.split("<")[-1].rstrip(">") for l in body if re.search(r"\t(b|jmp)\t", l) and "<" in l and "+0x" not in l]
    verdict = "a leaf" if not offending else "NOT a leaf"
    print(f"{target}: {name}: {len(body)} instructions, {verdict}; tail calls: {', '.join(sorted(set(tails))) or 'none'}")
    for l in offending:
        print(f"    {l.strip()}")
    ok &= not offending
sys.exit(0 if ok else 1)
PY
done
[ "$failed" = 0 ] || { echo "FAIL: an allocator hit path calls or saves registers (above)" >&2; exit 1; }
echo "leaf check passed"
