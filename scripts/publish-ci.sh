#!/usr/bin/env bash
# Ready to publish, as CI proves it:
#   1. the documentation of every workspace crate builds with warnings denied (broken or
#      private intra-doc links, missing docs: the published crates deny missing_docs),
#      once with default features and once with all of them (`stats`), and the runtime's
#      as docs.rs builds it (with the `inject` module: its rustdoc-args); and the
#      published crates' docs for the other Linux targets docs.rs builds (aarch64, riscv64);
#   2. `cargo publish --dry-run` of the three published crates in one command, in
#      dependency order (rseq-dsl-runtime, rseq-dsl-macros, then rseq-dsl): cargo packages
#      each, checks its metadata, and builds each package from its .crate file alone, the
#      root crate against the two freshly packaged ones through a temporary local registry
#      (target/package/tmp-registry), not against the workspace paths. What it cannot
#      prove: that crates.io accepts the upload (names, token, index), nothing is uploaded;
#   3. nothing a user does not need is packaged: the file lists hold no tests, benches,
#      ui-tests, scripts, VM images or docs images (golden asm files only in the macros
#      crate, whose unit tests read them).
# Reads the crates.io index (the dry run resolves libc, syn...). Bounded by
# scripts/deadline.sh (PUBLISH_CI_SECONDS, default 600). About 1 min once the workspace is
# built.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PUBLISH_CI_BOUNDED:-}" ]; then
    PUBLISH_CI_BOUNDED=1 exec scripts/deadline.sh "${PUBLISH_CI_SECONDS:-600}" "$0" "$@"
fi

published=(-p rseq-dsl-runtime -p rseq-dsl-macros -p rseq-dsl)
# CI checks the committed tree; PUBLISH_CI_ALLOW_DIRTY=1 for a local run with edits.
dirty=()
if [ -n "${PUBLISH_CI_ALLOW_DIRTY:-}" ]; then
    dirty=(--allow-dirty)
fi

echo "publish-ci: docs, warnings denied"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --all-features
# rustdoc alone sees the cfg (the runtime's [package.metadata.docs.rs] rustdoc-args), so
# nothing is rebuilt for it.
RUSTDOCFLAGS="-D warnings --cfg rseq_dsl_delay_injection" \
    cargo doc --no-deps --all-features -p rseq-dsl-runtime
# The other targets docs.rs builds ([package.metadata.docs.rs] of the root crate): the
# published crates' docs for each (rust-std added with rustup if missing).
host=$(rustc -vV | sed -n 's/^host: //p')
for target in $(sed -n 's/^targets = \[\(.*\)\]$/\1/p' Cargo.toml | tr -d '",'); do
    [ "$target" = "$host" ] && continue
    rustup target list --installed | grep -qx "$target" || rustup target add "$target"
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --target "$target" "${published[@]}"
done

echo "publish-ci: package file lists"
for crate in rseq-dsl-runtime rseq-dsl-macros rseq-dsl; do
    list=$(cargo package -p "$crate" --list "${dirty[@]}")
    echo "$crate: $(wc -l <<<"$list") files"
    if grep -E '^(tests|benches|ui-tests|scripts|vm|docs|\.ci|\.cargo|target)/' <<<"$list"; then
        echo "publish-ci: $crate packages files a user does not need (above)" >&2
        exit 1
    fi
    if [ "$crate" != rseq-dsl-macros ] && grep '^golden/' <<<"$list"; then
        echo "publish-ci: $crate packages golden files" >&2
        exit 1
    fi
    for file in Cargo.toml README.md LICENSE-MIT LICENSE-APACHE; do
        grep -qx "$file" <<<"$list" || { echo "publish-ci: $crate lacks $file" >&2; exit 1; }
    done
done

echo "publish-ci: cargo publish --dry-run, in dependency order"
# Cargo unpacks the temporary registry's .crate files under $CARGO_HOME/registry/src in a
# folder named after the registry's path, and reuses an unpacked crate of the same name and
# version without looking at its contents: a clone at the same path as an earlier run
# (CI's) would verify the root crate against that run's macros and runtime. None of the
# three is on crates.io, so every unpacked copy is stale; remove them.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rm -rf "$cargo_home"/registry/src/*/rseq-dsl-runtime-* "$cargo_home"/registry/src/*/rseq-dsl-macros-* \
    "$cargo_home"/registry/src/*/rseq-dsl-[0-9]*
cargo publish --dry-run "${published[@]}" "${dirty[@]}"
echo "publish-ci: the three crates package, verify and document cleanly"
