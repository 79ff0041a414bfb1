#!/usr/bin/env bash
# Checks every rseq descriptor we ship with the rseq-verify tool (verify/), one summary line
# per file, and exits non-zero on any violation:
#   1. every x86_64 example and test binary of the workspace (the test profile and the
#      test instrumentation of step 1 of .ci/run, so its build is reused);
#   2. the aarch64 test binaries, where `scripts/vm.sh aarch64` left them
#      (target/aarch64-unknown-linux-*/release/deps);
#   3. i686 (32-bit, REL relocations): whereami and two test binaries built here as CI's
#      step 9 builds them later (static musl, linked by rust-lld, RSEQ_VERIFY_I686=0 skips
#      this), each descriptor valid and as many as the file has abort signatures
#      (`0f b9 3d 53 30 05 53`, one per section), and tests/descriptors.rs run natively
#      (the process's view of its descriptors against the file's). Built into
#      target/cross with step 9's flags, which then finds them fresh: 264 s from nothing
#      on the shared 2-vCPU machine (load 11 to 15), 2 s when built;
#   4. the broken fixtures of verify/tests/rules.rs (every rule on eight machines: x86_64,
#      aarch64, i686, armv7, s390x, powerpc64le and -be, loongarch64): each `fail-*` must be
#      rejected (exit 1), each `pass-*` accepted (valid, or warnings only);
#   5. a third party's rseq code: the kernel's rseq selftests (tools/testing/selftests/rseq
#      of Debian's linux-source-6.1 package, fetched and built by scripts/rseq-selftests.sh),
#      compiled here for x86_64 and aarch64 and each found valid: about 30 s the first time
#      (download, unpack), 10 s after. RSEQ_VERIFY_SELFTESTS=0 skips this.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every cargo build here with step 1's test instrumentation, to reuse its build.
if [ -z "${RSEQ_INSTRUMENTED_CFGS:-}" ]; then
    exec scripts/instrumented.sh bash "$PWD/scripts/verify-ci.sh" "$@"
fi
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
    echo "(none under $target/aarch64-unknown-linux-*/release: run scripts/vm.sh aarch64 first)"
fi

i686=()
if [ "${RSEQ_VERIFY_I686:-1}" != 0 ]; then
    echo "--- i686: whereami and test binaries (static musl, rust-lld)"
    i686_start=$SECONDS
    # Without step 1's instrumentation: the sections users get. Built where and as
    # scripts/targets-ci.sh (step 9) builds i686, which then finds them built: its target
    # directory and flags (RUSTFLAGS would replace the targets' own).
    i686_build=$(mktemp)
    env -u RUSTFLAGS -u RUSTDOCFLAGS -u CARGO_ENCODED_RUSTFLAGS \
        CARGO_TARGET_DIR="${TARGETS_TARGET_DIR:-$PWD/target/cross}" \
        CARGO_TARGET_I686_UNKNOWN_LINUX_MUSL_RUSTFLAGS="--cfg rseq_dsl_vm -C linker=rust-lld -C target-feature=+crt-static" \
        CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="--cfg rseq_dsl_vm" \
        scripts/deadline.sh 420 cargo build --target i686-unknown-linux-musl --all-features \
        -p rseq-dsl --example whereami --test descriptors --test smoke \
        --message-format=json-render-diagnostics >"$i686_build"
    mapfile -t i686 < <(grep -o '"executable":"[^"]*"' "$i686_build" \
        | sed 's/^"executable":"//; s/"$//' | sort -u)
    rm -f "$i686_build"
    [ "${#i686[@]}" = 3 ] || { echo "i686: ${#i686[@]} binaries built, not 3" >&2; exit 1; }
    for file in "${i686[@]}"; do
        code=0
        out=$("$verify" --summary "$file") || code=$?
        printf '%s\n' "$out"
        [ "$code" = 0 ] || status=1
        found=$(sed -n 's/^summary: .*: \([0-9]*\) descriptors, .*/\1/p' <<<"$out")
        # Each section's abort handler follows x86's signature instruction, `ud1` with
        # 0x53053053: counted in the file's bytes, independently of the tables.
        signatures=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().count(bytes.fromhex("0fb93d53300553")))' "$file")
        if [ "$found" != "$signatures" ]; then
            echo "i686: $file has $signatures abort signatures but $found descriptors" >&2
            status=1
        fi
        case $file in
        */descriptors-*) scripts/deadline.sh 120 "$file" --quiet || status=1 ;;
        esac
    done
    echo "(i686: built and checked in $((SECONDS - i686_start)) s)"
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
    command -v aarch64-linux-gnu-gcc >/dev/null || DEBIAN_FRONTEND=noninteractive \
        flock "${RSEQ_DSL_APT_LOCK:-/tmp/rseq-dsl-apt.lock}" \
        apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
    # shellcheck source=scripts/rseq-selftests.sh
    source scripts/rseq-selftests.sh
    for cc in gcc aarch64-linux-gnu-gcc; do
        rseq_selftests_build "$cc" "$target/rseq-selftests/$cc" shared
        selftests+=("$(realpath "$target/rseq-selftests/$cc")"/*)
    done
    out=$("$verify" --summary "${selftests[@]}") || status=1
    printf '%s\n' "$out"
    # param_test exercises every kind of section: a check that found none proved nothing.
    if printf '%s\n' "$out" | grep -E '/param_test \(.*: 0 descriptors'; then
        echo "param_test without descriptors: the tables were not found" >&2
        status=1
    fi
fi

echo "verify-ci: ${#ours[@]} x86_64 binaries, ${#aarch64[@]} aarch64 binaries, ${#i686[@]} i686 binaries, ${#fixtures[@]} fixtures ($rejected rejected as they must be), ${#selftests[@]} kernel selftest files: $([ $status = 0 ] && echo OK || echo FAIL)"
exit $status
