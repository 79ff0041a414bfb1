# shellcheck shell=bash
# The time-slice extension's boot (issue 26), sourced by scripts/vm.sh after lib.sh: the kernel
# spec `slice` (`scripts/vm.sh x86_64 --kernel slice`, or `slice` among VM_KERNELS) is the
# kernel that scripts/kernel-build.sh builds from Debian's linux-source-7.3 with
# CONFIG_RSEQ_SLICE_EXTENSION (lib.sh's fetch_kernel runs that script; cached, instant
# the second time). Its boot has a plan of its own (write_plan hands over to
# write_slice_plan), with the same initramfs as the other boots plus /t/slice/:
#
#   slice check [own area] / [glibc-V]   scripts/vm/slicecheck.c: the extension is on (status
#                                        bit "available" in the area's flags, prctl 79 GET/SET,
#                                        "enabled" bit, debugfs rseq/slice_ext_nsec), with an own
#                                        64-byte area (static, glibc's registration off) and
#                                        with the newest glibc's area (33 bytes, V2)
#   slice check_optimized, slice_test    the kernel's own selftests of the same source tree
#                                        (tools/testing/selftests/rseq, static, glibc's
#                                        registration off, as run_timeslice_test.sh runs them);
#                                        the host then requires slice_test's 3 variants to have
#                                        passed with none skipped
#   <cell> whereami, probe, slice        in the primary glibc cell and the own-area cell; `slice`
#                                        is the HOOK for our own tests: any test binary named
#                                        `slice` (tests/slice.rs, or runtime/tests/slice.rs) runs
#                                        there with RSEQ_DSL_TEST_SLICE=1 (the extension must be
#                                        available: a test may fail rather than skip)
#   <primary> the light tests, hotplug   the runtime still works on this minimal kernel
#   slice stats                          debugfs rseq/ again: the grant counters after the tests

slice_wanted() { # -> whether a kernel spec of KERNELS is `slice`
    local spec
    for spec in $KERNELS; do [ "$(kernel_suite "$spec")" = slice ] && return 0; done
    return 1
}

# The binaries of /t/slice/ and each glibc cell's slicecheck (after build_stage).
build_slice_stage() {
    slice_wanted || return 0
    local src sdir dir out=$VM/slice-bin
    src=$(cat "$VM/kernels/slice/source")
    sdir=$src/tools/testing/selftests/rseq
    [ -f "$sdir/slice_test.c" ] || die "no slice_test.c in $sdir"
    mkdir -p "$out" "$STAGE/t/slice"
    # As the selftests' Makefile builds them (its flags, the same tree's uapi headers and
    # tools/include), static with rseq.c compiled in, like scripts/rseq-selftests.sh's static mode.
    local flags=(-O2 -Wall -I"$sdir" -I"$sdir/.." -isystem "$src/include/uapi" -I"$src/tools/include")
    local test
    for test in slice_test check_optimized; do
        (cd "$sdir" && "$CROSS-gcc" "${flags[@]}" -static "$test.c" rseq.c -lpthread -ldl -o "$out/$test" 2>"$out/$test.log") ||
            { cat "$out/$test.log"; die "the selftest $test did not build"; }
        cp "$out/$test" "$STAGE/t/slice/"
    done
    "$CROSS-gcc" -static -O2 -Wall -Wextra -Werror -o "$STAGE/t/slice/slicecheck" "$ROOT/scripts/vm/slicecheck.c"
    "$CROSS-gcc" -O2 -Wall -Wextra -Werror -o "$out/slicecheck" "$ROOT/scripts/vm/slicecheck.c"
    for dir in "$STAGE"/t/glibc-*; do
        cp "$out/slicecheck" "$dir/slicecheck"
        patchelf --set-interpreter "/${dir##*/t/}/$LOADER" --force-rpath --set-rpath "/${dir##*/t/}" "$dir/slicecheck"
    done
    log "slice: built slice_test, check_optimized ($(cat "$src/.deb-version" 2>/dev/null || echo "$src")) and slicecheck; our slice tests: $(has_slice_tests && echo present || echo "none yet (hook waits for a test binary named slice)")"
}

has_slice_tests() { [ -n "$(exe_of "$GNU_TESTS" slice)" ]; }

write_slice_plan() {
    local off=GLIBC_TUNABLES=glibc.pthread.rseq=0 own_cell cell name env
    own_cell=${CELLS[0]}
    [ "$own_cell" = musl ] || own_cell=$PRIMARY-off
    printf 'slice check [own area]\t%s\t%s\t/t/slice/slicecheck\n' "$TEST_DEADLINE" "$off"
    printf 'slice check [%s]\t%s\t-\t/t/%s/slicecheck\n' "$PRIMARY" "$TEST_DEADLINE" "$PRIMARY"
    printf 'slice check_optimized\t%s\t%s\t/t/slice/check_optimized\n' "$TEST_DEADLINE" "$off"
    printf 'slice slice_test\t%s\t%s\t/t/slice/slice_test\n' "$TEST_DEADLINE" "$off"
    for cell in "$PRIMARY" "$own_cell"; do
        plan_registration "$cell"
        if has_slice_tests; then
            # The hook for our own slice-extension tests: RSEQ_DSL_TEST_SLICE=1 says the
            # kernel has the extension (a test must not skip here); --nocapture puts the
            # figures the tests print (grants, preempted windows, the benchmark) in the console.
            env=$(cell_env "$cell")
            [ "$env" = - ] && env= || env+=" "
            printf '%s slice\t%s\t%sRSEQ_DSL_TEST_SLICE=1\t/t/%s/slice --test-threads=1 --nocapture\n' \
                "$cell" "$TEST_DEADLINE" "$env" "$(cell_dir "$cell")"
        fi
    done
    for name in $LIGHT_TESTS; do plan_test "$PRIMARY" "$name"; done
    plan_hotplug
    printf 'slice stats\t%s\t-\t/t/slice/slicecheck --stats\n' "$TEST_DEADLINE"
}

# After each boot of the slice kernel (lib.sh's boot): the facts and the selftest's counts,
# and its verdict: every variant passed, none skipped (a kernel without the extension skips them
# all and still exits 0).
check_slice_console() { # CONSOLE
    log "slice: what the kernel said"
    grep -E "^RSEQ-SLICE: |^#  RUN|^# (Total|Success|Yielded|Aborted|Scheduled|Raced) |^(not )?ok [0-9]|^# Totals" "$1" || true
    if grep -q "^# Totals: pass:3 fail:0 xfail:0 xpass:0 skip:0 error:0" "$1"; then
        log "slice: slice_test passed its 3 variants, none skipped"
    else
        log "slice: FAIL: slice_test did not pass all 3 variants unskipped"
        # shellcheck disable=SC2034 # lib.sh's verdict, read by scripts/vm.sh
        vm_failed=1
    fi
}
