#!/usr/bin/env bash
# The minimum supported Rust version (`rust-version` in Cargo.toml), as CI proves it:
#   1. installs that toolchain with rustup if it is missing (minimal profile, about 30 s);
#   2. builds the whole workspace with it, every feature on (libraries, binaries, tools),
#      without the test instrumentation: the plain build users get, where step 1 of .ci/run
#      is instrumented;
#   3. tests the published crates with it: the runtime's suites (unit, integration and doc
#      tests; the compiler's are built, and run in step 1), and the root crate's unit tests, doctests (the README's
#      example among them) and smoke test; and the instrumentation fixture's test, whose
#      plain half (a dependency's compare-twice stays in that dependency) runs here. The
#      long suites (acceptance, stress, fork, signals) stay with the current toolchain in
#      step 1 of .ci/run.
# Its own target directory (target/msrv; MSRV_TARGET_DIR overrides it), so that the main
# build is not thrown away by a compiler switch. The whole run is bounded by
# scripts/deadline.sh (MSRV_CI_SECONDS, default 900); CI's test runner and per-binary
# deadline (.ci/run exports them) apply to the test binaries too.
#
# Measured on the 2-vCPU machine (2026-11-30): 3m06s from an empty target/msrv (toolchain
# already installed; installing it adds about 30 s), 2m00s with a warm one. Most of it is
# the compiler's unit tests (fuzzing rseq! in a debug build, 70-100 s).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${MSRV_CI_BOUNDED:-}" ]; then
    MSRV_CI_BOUNDED=1 exec scripts/deadline.sh "${MSRV_CI_SECONDS:-900}" "$0" "$@"
fi

msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
if [ -z "$msrv" ]; then
    echo "msrv-ci: no rust-version in Cargo.toml" >&2
    exit 2
fi
export CARGO_TARGET_DIR=${MSRV_TARGET_DIR:-$PWD/target/msrv}

if ! rustup run "$msrv" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$msrv" --profile minimal
fi
echo "msrv-ci: $(rustup run "$msrv" rustc --version), target dir $CARGO_TARGET_DIR"

# `--cfg rseq_dsl_vm`, as the VM builds: leaves out the host-only dev tools (criterion,
# trybuild, rustversion, crossbeam; root Cargo.toml), which no test run here uses and whose
# build was a third of this step.
export RUSTFLAGS="${RUSTFLAGS:-} --cfg rseq_dsl_vm"
cargo "+$msrv" build --workspace --all-features
cargo "+$msrv" test -p rseq-dsl-runtime
# The macro's tests are built (the MSRV compiles them) but not run again: they compare its
# output with golden files, which depends on the macro's source, not the compiler that
# built it; step 1 runs them (40 s of CI).
cargo "+$msrv" test -p rseq-dsl-macros --no-run
cargo "+$msrv" test -p rseq-dsl --lib --test smoke
cargo "+$msrv" test -p rseq-dsl --doc
cargo "+$msrv" test -p rseq-dsl-instrumentation-fixture
echo "msrv-ci: Rust $msrv builds the workspace and passes the published crates' tests"
