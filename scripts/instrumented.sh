#!/usr/bin/env bash
# Runs a command (cargo ...) with rseq-dsl's test instrumentation, for the whole build:
# `--cfg rseq_dsl_delay_injection` (delay loops at the numbered points of every section,
# which the acceptance and stress suites use to force aborts) and `--cfg
# rseq_dsl_compare_twice` (re-check the index and compared loads before every commit),
# appended to RUSTFLAGS, and to RUSTDOCFLAGS so that the doctests see the same crates.
#
# A cfg rather than a cargo feature, so that no crate of a build graph can turn it on for
# the others (see the runtime's `inject` module). Never in a `.cargo/config.toml` of the
# repository: benches and examples must measure the code users get.
#
#   scripts/instrumented.sh cargo test --workspace --all-features   # CI's step 1
#
# A script that sets CARGO_TARGET_<TRIPLE>_RUSTFLAGS (cross builds) must add the flags
# there instead, since RUSTFLAGS would replace that variable; it reads them with
#   cfgs=$(scripts/instrumented.sh printenv RSEQ_INSTRUMENTED_CFGS)
set -euo pipefail
RSEQ_INSTRUMENTED_CFGS="--cfg rseq_dsl_delay_injection --cfg rseq_dsl_compare_twice"
export RSEQ_INSTRUMENTED_CFGS
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$RSEQ_INSTRUMENTED_CFGS"
export RUSTDOCFLAGS="${RUSTDOCFLAGS:+$RUSTDOCFLAGS }$RSEQ_INSTRUMENTED_CFGS"
exec "$@"
