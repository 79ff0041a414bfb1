#!/usr/bin/env bash
# Every target Rust ships with std (issue 21): the published crates build there, their
# tests run on four of them, and rseq!'s compile-fail rules hold on a target without a
# backend.
#
#     scripts/targets-ci.sh [--install-only] [PHASE...]
#
# Phases (all of them, in this order, when none is named):
#   install   idempotent: the Rust targets and rust-src (rustup), and on Debian bookworm
#             wine64, gcc-mingw-w64-x86-64, qemu-user-static and the powerpc64le and s390x
#             cross gccs and glibcs (apt, refused if it would remove any package: the VMs'
#             aarch64/riscv64 cross gccs stay; never gcc-multilib). `--install-only` stops
#             here: .ci/run runs that in its background downloads.
#   selftest  the toolchains themselves: a scratch crate (an atomic counter's tests, one
#             ignored with its reason) built and run on each runner below, so that a
#             failure of the later phases is known to be the crates', not wine's or qemu's
#   check     `cargo check` of the libraries, tests and examples of rseq-dsl,
#             rseq-dsl-runtime and rseq-dsl-alloc (rseq-dsl-macros is a proc-macro, built
#             for the host) for every target of CHECK_TARGETS (rustup) and BUILD_STD_TARGETS
#             (`-Zbuild-std` from rust-src: this machine's rustup mirror has no std for
#             armv7 musl, and aarch64_be is tier 3; loongarch64, which has none either,
#             is built and run by scripts/vm.sh)
#   run       the published crates' tests (a subset per target, RUN_TESTS below) and the
#             `whereami` example: x86_64-pc-windows-gnu under wine, i686-unknown-linux-musl
#             natively (static, linked by rust-lld: no 32-bit libraries needed), where
#             the i686 backend's sections run on the host kernel's rseq (RSEQ_RUN_TARGETS:
#             its report counts whereami's threads on the rseq path and the percpu storms
#             that aborted, and fails without either),
#             s390x Linux under qemu-user (built without its backend: no rseq there); every test binary under
#             scripts/deadline.sh (cargo's runner); exact counts, and the tests that need
#             rseq listed as ignored with their reason
#   ui        every ui-tests/ case checked for x86_64-unknown-linux-gnu and for UI_TARGET
#             (a target without a backend): rustc's errors, with their primary spans, must
#             be the same (scripts/targets_ui.py)
#   adopter   a user's crate (tests/fixtures/adopter/main.rs: PerCpuCounter, PerCpuStack,
#             rseq! and RseqAlloc as its global allocator; only rseq-dsl and rseq-dsl-alloc
#             as dependencies) checked for ADOPTER_TARGETS and run on the host and under
#             wine (x86_64-pc-windows-gnu), unchanged
#   report    docs/targets.md's table from the logs (scripts/targets_report.py)
#
# Everything builds into target/cross (TARGETS_TARGET_DIR), so that the main build stays
# fresh, with `--cfg rseq_dsl_vm` (root Cargo.toml: the host-only dev tools, criterion and
# trybuild, are left out; tests/ui.rs, their user, is not checked here). Logs and the
# results file are in target/cross/logs. Nothing can hang: the whole script runs under
# scripts/deadline.sh (TARGETS_CI_SECONDS, default 1500), and every command in it under
# its own deadline too.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ -z "${TARGETS_CI_BOUNDED:-}" ]; then
    TARGETS_CI_BOUNDED=1 exec scripts/deadline.sh "${TARGETS_CI_SECONDS:-1500}" "$0" "$@"
fi

CHECK_TARGETS=${TARGETS_CHECK:-"x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-msvc x86_64-pc-windows-gnu i686-unknown-linux-gnu i686-unknown-linux-musl armv7-unknown-linux-gnueabihf powerpc64le-unknown-linux-gnu s390x-unknown-linux-gnu x86_64-unknown-freebsd"}
# loongarch64 (no rustup std here either) is built with its tests, and run, by scripts/vm.sh
# in CI's step 3: a check here would repeat that build. TARGETS_BUILD_STD= (empty) checks
# none: .ci/run's choice, for time (std from source: armv7 musl 81 s, aarch64_be ~40 s).
BUILD_STD_TARGETS=${TARGETS_BUILD_STD-"armv7-unknown-linux-musleabihf aarch64_be-unknown-linux-gnu"}
# powerpc64le runs its tests on its kernel (scripts/vm.sh ppc64le, CI step 3) and its
# fallback check under qemu-user there; s390x stays here as the big-endian fallback run.
RUN_TARGETS=${TARGETS_RUN:-"x86_64-pc-windows-gnu i686-unknown-linux-musl s390x-unknown-linux-gnu"}
UI_TARGET=${TARGETS_UI_TARGET:-x86_64-apple-darwin}
ADOPTER_TARGETS=${TARGETS_ADOPTER:-"x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-msvc x86_64-pc-windows-gnu"}
# The test binaries each run target runs (cargo test arguments, one invocation per `;`, so
# that one that does not build leaves the others running):
# the runtime's unit tests, the root crate's unit tests, its smoke test (sections: they
# need rseq) and the building blocks under load (tests/percpu.rs: exact counts on the
# fallback paths).
RUN_TESTS=${TARGETS_RUN_TESTS:-"-p rseq-dsl-runtime --lib;-p rseq-dsl --lib;-p rseq-dsl --test smoke --test percpu -- --nocapture"}
# Targets whose sections run for real in the run phase (a backend, and a kernel with rseq
# under the runner): their run must show threads on the rseq path and aborts in the storms.
RSEQ_RUN_TARGETS=${TARGETS_RSEQ_RUN:-"i686-unknown-linux-musl"}
# ...and they also run the runtime's own tests (registration, fork, fences, thread churn,
# rseq refused by seccomp), which need a backend.
RSEQ_RUN_TESTS=${TARGETS_RSEQ_RUN_TESTS:-"-p rseq-dsl-runtime --tests"}

CROSS_DIR=${TARGETS_TARGET_DIR:-$ROOT/target/cross}
LOGS=$CROSS_DIR/logs
RESULTS=$LOGS/results.tsv
DEADLINE=$ROOT/scripts/deadline.sh
START=$SECONDS

# shellcheck source=scripts/vm/lib.sh
source "$ROOT/scripts/vm/lib.sh" # apt_install (it refuses removals)
log() { echo "[targets +$((SECONDS - START))s] $*"; }
die() {
    echo "[targets] ERROR: $*" >&2
    exit 1
}

# Every target's own settings come from CARGO_TARGET_<TRIPLE>_* variables; a RUSTFLAGS
# from outside would replace them (and reach the host's proc-macros): it is dropped.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS
export CARGO_TARGET_DIR=$CROSS_DIR
target_var() { # TRIPLE SUFFIX -> CARGO_TARGET_<TRIPLE>_SUFFIX
    echo "CARGO_TARGET_$(tr 'a-z.-' 'A-Z__' <<<"$1")_$2"
}
for t in $CHECK_TARGETS $BUILD_STD_TARGETS x86_64-unknown-linux-gnu; do
    export "$(target_var "$t" RUSTFLAGS)=--cfg rseq_dsl_vm"
done
# i686 Linux runs natively from a static musl build linked by the toolchain's own lld: no
# 32-bit C libraries on the host (Debian's gcc-multilib would remove the VMs' cross gccs).
export "$(target_var i686-unknown-linux-musl RUSTFLAGS)=--cfg rseq_dsl_vm -C linker=rust-lld -C target-feature=+crt-static"
export "$(target_var powerpc64le-unknown-linux-gnu LINKER)=powerpc64le-linux-gnu-gcc"
export "$(target_var s390x-unknown-linux-gnu LINKER)=s390x-linux-gnu-gcc"
export "$(target_var x86_64-pc-windows-gnu LINKER)=x86_64-w64-mingw32-gcc"

WINE=/usr/lib/wine/wine64
export WINEPREFIX=$CROSS_DIR/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
# Each test binary's deadline (scripts/deadline.sh as cargo's runner): several times the
# slowest one under emulation here.
export DEADLINE_SECONDS=${TARGETS_TEST_DEADLINE:-300}

# How each run target's binaries run: its runner (deadline.sh and the emulator) and, for
# qemu-user, the cross glibc's prefix.
runner_env() { # TRIPLE -> NAME=VALUE lines
    case $1 in
    x86_64-pc-windows-gnu) echo "$(target_var "$1" RUNNER)=$DEADLINE $WINE" ;;
    i686-unknown-linux-musl) echo "$(target_var "$1" RUNNER)=$DEADLINE" ;;
    powerpc64le-unknown-linux-gnu)
        echo "$(target_var "$1" RUNNER)=$DEADLINE qemu-ppc64le-static"
        echo "QEMU_LD_PREFIX=/usr/powerpc64le-linux-gnu"
        # Built as a target without a backend (runtime/build.rs): qemu-user has no rseq and
        # no seccomp, so the fallback paths' tests run and those that need rseq are ignored.
        # The check phase builds the sections; a kernel runs them (scripts/vm.sh).
        echo "$(target_var "$1" RUSTFLAGS)=--cfg rseq_dsl_vm --cfg rseq_dsl_no_backend"
        ;;
    s390x-unknown-linux-gnu)
        echo "$(target_var "$1" RUNNER)=$DEADLINE qemu-s390x-static"
        echo "QEMU_LD_PREFIX=/usr/s390x-linux-gnu"
        # As powerpc64le: built without its backend under qemu-user.
        echo "$(target_var "$1" RUSTFLAGS)=--cfg rseq_dsl_vm --cfg rseq_dsl_no_backend"
        ;;
    *) die "no runner for $1" ;;
    esac
}
runner_name() { # TRIPLE -> how it runs, for the report
    case $1 in
    x86_64-pc-windows-gnu) echo "wine $(dl 60 "$WINE" --version 2>/dev/null || echo '?')" ;;
    i686-unknown-linux-musl) echo "natively, static, linked by rust-lld" ;;
    powerpc64le-unknown-linux-gnu) dl 60 qemu-ppc64le-static --version | sed -n '1s/ version / /; 1s/ (.*//p' ;;
    s390x-unknown-linux-gnu) dl 60 qemu-s390x-static --version | sed -n '1s/ version / /; 1s/ (.*//p' ;;
    esac
}

dl() { "$DEADLINE" "$@"; } # SECONDS COMMAND...: under a deadline
cargo_n() { nice -n 19 "$DEADLINE" "$@"; } # SECONDS cargo ...: niced, under a deadline
record() { # KIND TARGET STATUS SECONDS DETAIL
    printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
}

# ---------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------
install() {
    local installed t missing=()
    installed=$(dl 120 rustup target list --installed)
    for t in $CHECK_TARGETS; do
        grep -qx "$t" <<<"$installed" || missing+=("$t")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "rustup target add ${missing[*]}"
        dl 900 rustup target add "${missing[@]}"
    fi
    if ! dl 120 rustup component list --installed | grep -q '^rust-src'; then
        log "rustup component add rust-src"
        dl 600 rustup component add rust-src
    fi
    missing=()
    [ -x "$WINE" ] || missing+=(wine64)
    command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
    command -v qemu-ppc64le-static >/dev/null && command -v qemu-s390x-static >/dev/null ||
        missing+=(qemu-user-static)
    command -v powerpc64le-linux-gnu-gcc >/dev/null || missing+=(gcc-powerpc64le-linux-gnu)
    [ -e /usr/powerpc64le-linux-gnu/lib/libc.so.6 ] || missing+=(libc6-dev-ppc64el-cross)
    command -v s390x-linux-gnu-gcc >/dev/null || missing+=(gcc-s390x-linux-gnu)
    [ -e /usr/s390x-linux-gnu/lib/libc.so.6 ] || missing+=(libc6-dev-s390x-cross)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt_install "${missing[@]}"
    fi
    # The standard library's own dependencies for -Zbuild-std (crates.io), fetched once.
    local lock
    lock=$(rustc --print sysroot)/lib/rustlib/src/rust/library/Cargo.lock
    if [ -n "$BUILD_STD_TARGETS" ] && [ -e "$lock" ]; then
        RUSTC_BOOTSTRAP=1 dl 600 cargo fetch -q --manifest-path "${lock%.lock}.toml" >/dev/null 2>&1 ||
            log "fetching the standard library's dependencies failed (the check will retry)"
    fi
    # wine's prefix: created once (about 20 s), not inside the first test's deadline.
    if [ ! -e "$WINEPREFIX/system.reg" ]; then
        log "creating the wine prefix $WINEPREFIX"
        mkdir -p "$WINEPREFIX"
        dl 300 "$WINE" wineboot --init >/dev/null 2>&1 || die "wineboot --init failed"
        dl 60 /usr/lib/wine/wineserver -w || true
    fi
    # Rust's std (1.78+) draws its random seeds from ProcessPrng in bcryptprimitives.dll,
    # which bookworm's wine 8.0 lacks (every binary fails to load: status c0000135). A
    # stand-in built with mingw, on RtlGenRandom (advapi32's SystemFunction036), goes into
    # the prefix's system32.
    local dll=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
    if ! "$WINE" --version | grep -qE 'wine-(9|[1-9][0-9])\.' && [ ! -e "$dll" ]; then
        log "adding a ProcessPrng stand-in for wine $("$WINE" --version)"
        cat >"$CROSS_DIR/bcryptprimitives.c" <<'EOF'
/* ProcessPrng for wine < 9 (scripts/targets-ci.sh): Rust's std needs it to start. */
#include <windows.h>
/* RtlGenRandom's real name in advapi32. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
EOF
        dl 120 x86_64-w64-mingw32-gcc -O2 -shared -o "$dll" "$CROSS_DIR/bcryptprimitives.c" -ladvapi32 ||
            die "the bcryptprimitives.dll stand-in did not build"
    fi
    log "installed: $(rustc --version); $("$WINE" --version); $(qemu-ppc64le-static --version | head -1)"
}

# ---------------------------------------------------------------------------------------
# selftest: the toolchains on a scratch crate
# ---------------------------------------------------------------------------------------
selftest() {
    local dir=$CROSS_DIR/selftest t status begin
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<'EOF'
[package]
name = "targets-selftest"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]
EOF
    cat >"$dir/src/lib.rs" <<'EOF'
//! The toolchain check of scripts/targets-ci.sh: an atomic counter, four threads.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub fn count(threads: u64, adds: u64) -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let counter = counter.clone();
            std::thread::spawn(move || {
                for _ in 0..adds {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    counter.load(Ordering::Relaxed)
}

#[test]
fn atomic_counter_is_exact() {
    assert_eq!(count(4, 1000), 4000);
}

#[test]
fn reports_the_target() {
    println!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
}

#[test]
#[ignore = "proves that an ignored test and its reason reach the log"]
fn ignored_with_a_reason() {}
EOF
    for t in $RUN_TARGETS; do
        begin=$SECONDS
        status=ok
        (
            while IFS= read -r kv; do export "${kv?}"; done < <(runner_env "$t")
            cargo_n 600 cargo test --manifest-path "$dir/Cargo.toml" --target "$t"
        ) >"$LOGS/selftest-$t.log" 2>&1 || status=failed
        grep -q "^test result: ok. 2 passed; 0 failed; 1 ignored" "$LOGS/selftest-$t.log" &&
            grep -q "^test ignored_with_a_reason ... ignored, proves" "$LOGS/selftest-$t.log" ||
            status=failed
        record selftest "$t" "$status" $((SECONDS - begin)) "$(grep -m1 '^test result' "$LOGS/selftest-$t.log" || true)"
        log "selftest $t: $status ($((SECONDS - begin)) s)"
        [ "$status" = ok ] || { tail -30 "$LOGS/selftest-$t.log"; die "the toolchain for $t does not work"; }
    done
}

# ---------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------
# The root crate's test targets but tests/ui.rs (trybuild: a host tool, left out by
# `--cfg rseq_dsl_vm`).
root_tests() {
    cargo metadata --no-deps --format-version 1 --manifest-path "$ROOT/Cargo.toml" |
        python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "rseq-dsl":
        for t in p["targets"]:
            if "test" in t["kind"] and t["name"] != "ui":
                print("--test", t["name"])'
}

check_one() { # TARGET [build-std]
    local t=$1 mode=${2:-} begin status=ok extra=() log=$LOGS/check-$1.log
    # shellcheck disable=SC2207
    local tests=($(root_tests))
    begin=$SECONDS
    if [ "$mode" = build-std ]; then extra=('-Zbuild-std=std,panic_abort'); fi
    local bootstrap=${RUSTC_BOOTSTRAP:-} target_dir=$CARGO_TARGET_DIR
    # A target directory of its own: RUSTC_BOOTSTRAP is watched by proc-macro2's build
    # script, so setting it in the shared one would rebuild the host's proc macros (and
    # everything after them) for the next phase.
    [ "$mode" != build-std ] || bootstrap=1 target_dir=$CROSS_DIR/build-std
    # Both, whatever the first gives: the log then has every crate's errors.
    {
        echo "# cargo check --target $t ${extra[*]} -p rseq-dsl-runtime -p rseq-dsl-alloc"
        RUSTC_BOOTSTRAP=$bootstrap CARGO_TARGET_DIR=$target_dir cargo_n 900 cargo check "${extra[@]}" --target "$t" \
            --all-features -p rseq-dsl-runtime -p rseq-dsl-alloc --lib --tests --examples
    } >"$log" 2>&1 || status=failed
    {
        echo "# cargo check --target $t ${extra[*]} -p rseq-dsl"
        RUSTC_BOOTSTRAP=$bootstrap CARGO_TARGET_DIR=$target_dir cargo_n 900 cargo check "${extra[@]}" --target "$t" \
            --all-features -p rseq-dsl --lib --examples "${tests[@]}"
    } >>"$log" 2>&1 || status=failed
    if grep -q '^error' "$log"; then status=failed; fi
    record check "$t" "$status" $((SECONDS - begin)) "${mode:-rustup}"
    log "check $t${mode:+ ($mode)}: $status ($((SECONDS - begin)) s)"
    if [ "$status" != ok ]; then
        grep -E '^(error|warning: unused)' -A5 "$log" | head -40
        failures+=("check $t")
    fi
}

check() {
    local t
    for t in $CHECK_TARGETS; do check_one "$t"; done
    for t in $BUILD_STD_TARGETS; do check_one "$t" build-std; done
}

# ---------------------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------------------
run_one() { # TARGET
    local t=$1 begin status=ok log=$LOGS/run-$1.log args
    begin=$SECONDS
    : >"$log"
    (
        while IFS= read -r kv; do export "${kv?}"; done < <(runner_env "$t")
        echo "# runner: $(runner_name "$t")"
        IFS=';' read -r -a invocations <<<"$RUN_TESTS"
        if [[ " $RSEQ_RUN_TARGETS " == *" $t "* ]]; then
            IFS=';' read -r -a more <<<"$RSEQ_RUN_TESTS"
            invocations+=("${more[@]}")
        fi
        rc=0
        for args in "${invocations[@]}"; do
            echo "# cargo test --target $t --all-features $args"
            # shellcheck disable=SC2086
            # (`--no-fail-fast` first: `$args` may end in `-- --nocapture`.)
            cargo_n 1200 cargo test --target "$t" --all-features --no-fail-fast $args || rc=1
        done
        echo "# cargo run --target $t --example whereami"
        cargo_n 600 cargo run --quiet --target "$t" --all-features -p rseq-dsl --example whereami || rc=1
        exit $rc
    ) >>"$log" 2>&1 || status=failed
    grep -q '^test result: FAILED' "$log" && status=failed
    grep -q '^test result: ok' "$log" || status=failed
    local detail
    detail="$(grep -c '^test result: ok' "$log") binaries"
    if [[ " $RSEQ_RUN_TARGETS " == *" $t "* ]]; then
        # whereami's threads on the rseq path, and the percpu storms' aborts (each storm
        # prints "N workers, S signals, A aborts"): proof that real sections ran.
        local on_rseq storms aborting
        on_rseq=$(grep -c ', rseq path$' "$log" || true)
        storms=$(grep -cE '^[0-9]+ workers, [0-9]+ signals, [0-9]+ aborts' "$log" || true)
        aborting=$(grep -cE '^[0-9]+ workers, [0-9]+ signals, [1-9][0-9]* aborts' "$log" || true)
        detail+=", sections on rseq: $on_rseq whereami threads, $aborting of $storms storms aborted"
        [ "$on_rseq" -gt 0 ] && [ "$aborting" -gt 0 ] || status=failed
    fi
    record run "$t" "$status" $((SECONDS - begin)) "$detail"
    log "run $t: $status ($((SECONDS - begin)) s): $detail; $(grep '^test result' "$log" | tr '\n' ' ')"
    if [ "$status" != ok ]; then
        grep -E '^(test .* FAILED|---- |thread .* panicked|error)' -A4 "$log" | head -60
        failures+=("run $t")
    fi
}

run() {
    local t
    for t in $RUN_TARGETS; do run_one "$t"; done
}

# ---------------------------------------------------------------------------------------
# ui: the compile-fail cases on a target without a backend
# ---------------------------------------------------------------------------------------
ui() {
    local begin=$SECONDS status=ok
    if ! python3 "$ROOT/scripts/targets_ui.py" --root "$ROOT" --dir "$CROSS_DIR/ui" \
        --deadline "$DEADLINE" x86_64-unknown-linux-gnu "$UI_TARGET" >"$LOGS/ui-$UI_TARGET.log" 2>&1; then
        status=failed
    fi
    record ui "$UI_TARGET" "$status" $((SECONDS - begin)) "$(tail -1 "$LOGS/ui-$UI_TARGET.log")"
    log "ui $UI_TARGET: $status ($((SECONDS - begin)) s): $(tail -1 "$LOGS/ui-$UI_TARGET.log")"
    if [ "$status" != ok ]; then
        tail -60 "$LOGS/ui-$UI_TARGET.log"
        failures+=("ui $UI_TARGET")
    fi
}

# ---------------------------------------------------------------------------------------
# adopter: a user's crate, outside the workspace
# ---------------------------------------------------------------------------------------
adopter() {
    local dir=$CROSS_DIR/adopter t begin status out log
    mkdir -p "$dir/src"
    cp "$ROOT/tests/fixtures/adopter/main.rs" "$dir/src/main.rs"
    printf '%s\n' '[package]' 'name = "adopter"' 'version = "0.1.0"' 'edition = "2021"' \
        'publish = false' '' '[dependencies]' "rseq-dsl = { path = \"$ROOT\" }" \
        "rseq-dsl-alloc = { path = \"$ROOT/alloc\" }" '' '[workspace]' >"$dir/Cargo.toml"
    for t in x86_64-unknown-linux-gnu $ADOPTER_TARGETS; do
        begin=$SECONDS status=ok log=$LOGS/adopter-$t.log
        : >"$log"
        if [ "$t" = x86_64-unknown-linux-gnu ] || [ "$t" = x86_64-pc-windows-gnu ]; then
            # Built and run: the host's own, and under wine with the run phase's runner.
            out=$(
                if [ "$t" != x86_64-unknown-linux-gnu ]; then
                    while IFS= read -r kv; do export "${kv?}"; done < <(runner_env "$t")
                fi
                cargo_n 900 cargo run --quiet --manifest-path "$dir/Cargo.toml" --target "$t" 2>>"$log"
            ) || status=failed
            echo "$out" >>"$log"
            grep -q '^adopter: counter sum 4000' <<<"$out" || status=failed
            record adopter "$t" "$status" $((SECONDS - begin)) "built and ran: ${out:-no output}"
        else
            cargo_n 900 cargo check --quiet --manifest-path "$dir/Cargo.toml" --target "$t" \
                >>"$log" 2>&1 || status=failed
            record adopter "$t" "$status" $((SECONDS - begin)) "checked"
        fi
        log "adopter $t: $status ($((SECONDS - begin)) s)"
        if [ "$status" != ok ]; then
            tail -30 "$log"
            failures+=("adopter $t")
        fi
    done
}

report() {
    python3 "$ROOT/scripts/targets_report.py" --doc "$ROOT/docs/targets.md" "$LOGS"
}

# ---------------------------------------------------------------------------------------
phases=()
for arg in "$@"; do
    case $arg in
    --install-only) phases=(install) ;;
    install | selftest | check | run | ui | adopter | report) phases+=("$arg") ;;
    *)
        echo "usage: $0 [--install-only] [install|selftest|check|run|ui|adopter|report]..." >&2
        exit 2
        ;;
    esac
done
[ ${#phases[@]} -gt 0 ] || phases=(install selftest check run ui adopter report)

mkdir -p "$LOGS"
failures=()
for phase in "${phases[@]}"; do
    # A phase's earlier results are replaced by this run's.
    if [ -e "$RESULTS" ] && [ "$phase" != install ] && [ "$phase" != report ]; then
        awk -F'\t' -v p="$phase" '$1 != p' "$RESULTS" >"$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
    fi
    log "phase $phase"
    "$phase"
done
log "total $((SECONDS - START)) s"
if [ ${#failures[@]} -gt 0 ]; then
    die "failed: ${failures[*]} (logs: $LOGS)"
fi
echo "targets: every phase passed (${phases[*]})"
