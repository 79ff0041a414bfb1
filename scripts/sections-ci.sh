#!/usr/bin/env bash
# The differential test of rseq! (sectiontest/, issue 13), as CI runs it: a fresh seed
# each run (printed first; rerun with SECTIONS_SEED=<hex>), SECTIONS generated sections
# compiled with the real macro, each run on STATES random memory states and compared with
# the reference interpreter, then STORM_SECTIONS idempotent ones under a signal storm with
# delay injection. A mismatch prints the shrunk section, the state and both outcomes.
#
#     scripts/sections-ci.sh                      # what CI runs (300 x 20, storm 100 x 10)
#     SECTIONS_SEED=1f2e SECTIONS=1000 scripts/sections-ci.sh
#
# The whole run (build included) is bounded by scripts/deadline.sh: SECTIONS_CI_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."

# Generous: a fresh checkout builds the driver and the generated crate (twice) first.
limit=${SECTIONS_CI_SECONDS:-900}
args=(--sections "${SECTIONS:-300}" --states "${STATES:-20}"
      --storm-sections "${STORM_SECTIONS:-100}" --storm-states "${STORM_STATES:-10}")
if [ -n "${SECTIONS_SEED:-}" ]; then
    args+=(--seed "$SECTIONS_SEED")
fi

exec scripts/deadline.sh "$limit" \
    cargo run --quiet --release -p rseq-sectiontest -- "${args[@]}"
