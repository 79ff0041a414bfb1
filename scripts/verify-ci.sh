#!/usr/bin/env bash
# Checks every rseq descriptor we ship with the rseq-verify tool (verify/), one summary line
# per file, and exits non-zero on any violation:
#   1. every x86_64 example and test binary of the workspace (the test profile of step 1 of
#      .ci/run, so its build is reused);
#   2. the aarch64 test binaries, where scripts/aarch64-vm.sh left them
#      (target/aarch64-unknown-linux-*/release/deps);
#   3. the broken fixtures of verify/tests/rules.rs: each `fail-*` must be rejected (exit 1),
#      each `pass-*` accepted (valid, or warnings only);
#   4. a third party's rseq code: the kernel's rseq selftests (tools/testing/selftests/rseq
#      of Debian's linux-source-6.1 package), compiled here for x86_64 and aarch64 and
#      each found valid. The few files needed are kept in $RSEQ_VERIFY_CACHE (default
#      ~/.cache/rseq-verify), outside the work tree, so a fresh clone reuses them: about 30 s
#      the first time (download, unpack), 10 s after. RSEQ_VERIFY_SELFTESTS=0 skips this.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}

cargo build -p rseq-verify
verify="$target/debug/rseq-verify"

echo "--- x86_64: examples and tests"
# Cargo names every executable it built (JSON on stdout, its errors rendered on stderr); a
# failed build stops the script here rather than checking a subset.
artifacts=$(mktemp)
trap 'rm -f "$artifacts"' EXIT
cargo build --workspace --all-features --examples --tests \
    --message-format=json-render-diagnostics >"$artifacts"
mapfile -t ours < <(grep -o '"executable":"[^"]*"' "$artifacts" \
    | sed 's/^"executable":"//; s/"$//' | sort -u)
[ "${#ours[@]}" -gt 0 ] || { echo "no binaries built" >&2; exit 1; }
status=0
"$verify" --summary "${ours[@]}" || status=1

echo "--- aarch64: test binaries"
shopt -s nullglob
aarch64=()
for file in "$target"/aarch64-unknown-linux-*/release/deps/*-????????????????; do
    # Test executables: hashed names without an extension, ELF, executable.
    if [ -f "$file" ] && [ -x "$file" ] && [ "$(head -c4 "$file" | tr -d '\0')" = $'\x7fELF' ]; then
        aarch64+=("$file")
    fi
done
if [ "${#aarch64[@]}" -gt 0 ]; then
    "$verify" --summary "${aarch64[@]}" || status=1
else
    echo "(none under $target/aarch64-unknown-linux-*/release: run scripts/aarch64-vm.sh first)"
fi

echo "--- broken fixtures (verify/tests/rules.rs)"
cargo test -q -p rseq-verify --test rules >/dev/null
fixtures=("$target"/tmp/rseq-verify-fixtures/*)
[ "${#fixtures[@]}" -gt 0 ] || { echo "no fixtures written" >&2; exit 1; }
rejected=0
for fixture in "${fixtures[@]}"; do
    code=0
    out=$("$verify" --summary "$fixture") || code=$?
    case "$(basename "$fixture"):$code" in
        fail-*:1 | pass-*:0) ;;
        *) echo "$out"; echo "UNEXPECTED exit $code for $fixture" >&2; status=1 ;;
    esac
    [ "$code" = 1 ] && rejected=$((rejected + 1))
    # The finding of each fixture, then its summary line.
    printf '%s\n' "$out" | grep -v '^summary: ' | sed 's/^/  /' || true
    printf '%s\n' "$out" | grep '^summary: '
done
selftests=()
if [ "${RSEQ_VERIFY_SELFTESTS:-1}" != 0 ]; then
    echo "--- the kernel's rseq selftests (Debian's linux-source), x86_64 and aarch64"
    cache=${RSEQ_VERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rseq-verify}
    # 6.1 (bookworm's own kernel): its selftests build against the one uapi header rseq.h;
    # 6.12's also need the installed uapi tree (`make headers_install`), not done here.
    pkg=${RSEQ_VERIFY_LINUX_SOURCE:-linux-source-6.1}
    apt-cache show "$pkg" >/dev/null 2>&1 || apt-get update -qq
    src="$cache/$pkg"
    if [ ! -f "$src/.complete" ]; then
        # The selftests need their folder, kselftest.h, the uapi rseq.h and tools/include;
        # xz must still decompress the whole tarball (about 25 s): hence the cache.
        download=$(mktemp -d)
        (cd "$download" && apt-get download -qq "$pkg" 2>/dev/null)
        mkdir -p "$cache" && rm -rf "$src"
        dpkg-deb --fsys-tarfile "$download"/*.deb | tar -xO --wildcards "*/$pkg.tar.xz" \
            | xz -dc -T2 | tar -x -C "$cache" --wildcards "$pkg/tools/testing/selftests/rseq/*" \
                "$pkg/tools/testing/selftests/kselftest.h" \
                "$pkg/include/uapi/linux/rseq.h" "$pkg/tools/include/*"
        rm -rf "$download"
        touch "$src/.complete"
    fi
    command -v aarch64-linux-gnu-gcc >/dev/null || DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
    # As the selftests' Makefile builds them, with the uapi header of the same tree.
    for cc in gcc aarch64-linux-gnu-gcc; do
        mkdir -p "$target/rseq-selftests/$cc"
        out=$(realpath "$target/rseq-selftests/$cc")
        flags=(-O2 -Wall -I. -isystem "$src/include/uapi" -I"$src/tools/include" -L"$out")
        (
            cd "$src/tools/testing/selftests/rseq"
            $cc "${flags[@]}" -shared -fPIC rseq.c -lpthread -ldl -o "$out/librseq.so"
            for test in basic_test basic_percpu_ops_test param_test; do
                $cc "${flags[@]}" $test.c -lpthread -ldl -lrseq -o "$out/$test"
            done
            $cc "${flags[@]}" -DBENCHMARK param_test.c -lpthread -ldl -lrseq -o "$out/param_test_benchmark"
            $cc "${flags[@]}" -DRSEQ_COMPARE_TWICE param_test.c -lpthread -ldl -lrseq -o "$out/param_test_compare_twice"
        )
        selftests+=("$out"/*)
    done
    out=$("$verify" --summary "${selftests[@]}") || status=1
    printf '%s\n' "$out"
    # param_test exercises every kind of section: a check that found none proved nothing.
    if printf '%s\n' "$out" | grep -E '/param_test \(.*: 0 descriptors'; then
        echo "param_test without descriptors: the tables were not found" >&2
        status=1
    fi
fi

echo "verify-ci: ${#ours[@]} x86_64 binaries, ${#aarch64[@]} aarch64 binaries, ${#fixtures[@]} fixtures ($rejected rejected as they must be), ${#selftests[@]} kernel selftest files: $([ $status = 0 ] && echo OK || echo FAIL)"
exit $status
