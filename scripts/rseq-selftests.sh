# shellcheck shell=bash
# The kernel's rseq selftests (tools/testing/selftests/rseq of Debian's linux-source
# package), fetched once and built: shared by scripts/verify-ci.sh (rseq-verify reads their
# descriptors) and scripts/vm.sh's full tier (they run on each kernel). Source it, then:
#
#     src=$(rseq_selftests_source)          # the unpacked tree, cached
#     rseq_selftests_build CC OUT shared    # librseq.so + the tests linked against it
#     rseq_selftests_build CC OUT static    # static tests, rseq.c compiled in
#
# The few files needed are kept in $RSEQ_VERIFY_CACHE (default ~/.cache/rseq-verify),
# outside the work tree, so a fresh clone reuses them: about 30 s the first time (download,
# unpack), nothing after. 6.1 (bookworm's own kernel): its selftests build against the one
# uapi header rseq.h; 6.12's also need the installed uapi tree (`make headers_install`).

rseq_selftests_source() {
    local cache pkg src download
    cache=${RSEQ_VERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rseq-verify}
    pkg=${RSEQ_VERIFY_LINUX_SOURCE:-linux-source-6.1}
    src="$cache/$pkg"
    if [ ! -f "$src/.complete" ]; then
        # The lock scripts/vm/lib.sh's apt_turn takes: .ci/run installs beside it.
        apt-cache show "$pkg" >/dev/null 2>&1 ||
            flock "${RSEQ_DSL_APT_LOCK:-/tmp/rseq-dsl-apt.lock}" apt-get update -qq
        # The selftests need their folder, kselftest.h, the uapi rseq.h and tools/include;
        # xz must still decompress the whole tarball (about 25 s): hence the cache.
        download=$(mktemp -d)
        (cd "$download" && apt-get download -qq "$pkg" 2>/dev/null) >&2
        mkdir -p "$cache" && rm -rf "$src"
        dpkg-deb --fsys-tarfile "$download"/*.deb | tar -xO --wildcards "*/$pkg.tar.xz" |
            xz -dc -T2 | tar -x -C "$cache" --wildcards "$pkg/tools/testing/selftests/rseq/*" \
            "$pkg/tools/testing/selftests/kselftest.h" \
            "$pkg/include/uapi/linux/rseq.h" "$pkg/tools/include/*"
        rm -rf "$download"
        touch "$src/.complete"
    fi
    echo "$src"
}

rseq_selftests_build() { # CC OUT shared|static
    local cc=$1 out=$2 mode=$3 src test
    src=$(rseq_selftests_source)
    mkdir -p "$out"
    out=$(realpath "$out")
    # As the selftests' Makefile builds them, with the uapi header of the same tree.
    local flags=(-O2 -Wall -I. -isystem "$src/include/uapi" -I"$src/tools/include")
    (
        cd "$src/tools/testing/selftests/rseq"
        if [ "$mode" = shared ]; then
            $cc "${flags[@]}" -L"$out" -shared -fPIC rseq.c -lpthread -ldl -o "$out/librseq.so"
            for test in basic_test basic_percpu_ops_test param_test; do
                $cc "${flags[@]}" -L"$out" $test.c -lpthread -ldl -lrseq -o "$out/$test"
            done
            $cc "${flags[@]}" -L"$out" -DBENCHMARK param_test.c -lpthread -ldl -lrseq -o "$out/param_test_benchmark"
            $cc "${flags[@]}" -L"$out" -DRSEQ_COMPARE_TWICE param_test.c -lpthread -ldl -lrseq -o "$out/param_test_compare_twice"
        else
            for test in basic_test basic_percpu_ops_test param_test; do
                $cc "${flags[@]}" -static $test.c rseq.c -lpthread -ldl -o "$out/$test"
            done
        fi
    )
}
