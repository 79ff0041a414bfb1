#!/usr/bin/env bash
# Runs the test suites on real Linux kernels under qemu-system, one architecture per call:
#
#     scripts/vm.sh x86_64|aarch64|riscv64|s390x|ppc64le|loongarch64 [--tier ci|full] [--fetch-only] [--kernel SPEC]
#
# `--kernel SPEC` boots that kernel only (as VM_KERNELS=SPEC would). `--kernel slice` (x86_64):
# the kernel scripts/kernel-build.sh builds from Debian's linux-source-7.3 with the rseq
# time-slice extension (issue 26), with a plan of its own (scripts/vm/slice.sh): the kernel's
# slice_test selftest, a check that the extension is on, and our tests named `slice`.
#
# `--fetch-only` installs the tools and downloads the tier's kernels and glibcs, then stops:
# .ci/run does that in the background while the host's tests build and run.
#
# Every architecture's facts (Debian and Rust names, cross toolchain, loader, qemu machine
# and console, kernels, glibcs) are one row of the tables at the top of scripts/vm/lib.sh.
# Kernels (Debian's, fetched with `apt-get download` under private APT configurations and
# kept in vm/ARCH/, ignored by git), full tier / ci tier:
#     x86_64       6.1 (bookworm), 6.12 (bookworm-backports), 7.3 (trixie-backports) / 7.3
#     aarch64      6.1, 6.12, 7.3 / 7.3; with the armv7 compat cell (below)
#     riscv64      6.12 (trixie), 7.2 (sid) / 7.2
#     s390x        6.1 (bookworm: trixie serves no s390x kernel here) / the same
#                  (-M s390-ccw-virtio, console ttysclp0)
#     ppc64le      6.1 (bookworm, linux-image-powerpc64le) / the same (-M pseries, hvc0)
#     loongarch64  7.2 (sid) / the same (-M virt; Debian's vmlinuz is an EFI zboot image,
#                  unpacked for -kernel; no cross gcc in bookworm: trixie's, unpacked with
#                  its host libraries (lib.sh's unpacked_cross_gcc); Rust's std built with
#                  -Zbuild-std; booted with initcall_blacklist=i8042_init)
# The ci tier is one kernel per architecture (CI's 40-minute budget, with six of them): the
# newest (V2 mode, the kernel's debug checks); s390x's and ppc64le's 6.1 are the oldest
# kernel in it (no mm_cid, no feature size, legacy registration). x86_64's own tests run
# natively on the host's kernel in .ci/run besides (every acceptance scenario).
# Kernels from 6.19 on boot with `rseq_debug=1`: the kernel then checks every descriptor
# and forbids system calls inside sections, SIGSEGV on a violation.
#
# libc cells, all in one boot: `musl` (a static build: no libc registration, the runtime's
# own area; riscv64 has no Rust musl std), `glibc-2.36`, `glibc-2.41`, `glibc-2.43` (the
# libc6 of bookworm, trixie and sid, each with its own loader in the initramfs; 2.41+
# registers 33 bytes, V2 mode, on 7.x kernels; riscv64: 2.41 and 2.43 only, bookworm's 2.36
# has no riscv64 signature and never registers; s390x and ppc64le: 2.36; loongarch64:
# 2.43), and the newest glibc with GLIBC_TUNABLES=glibc.pthread.rseq=0 (own area beside
# glibc). aarch64's boots also hold `armv7-glibc-2.41`: the tests built for
# armv7-unknown-linux-gnueabihf (Debian's gcc-arm-linux-gnueabihf) with trixie's armhf glibc
# and loader, 32-bit processes on the 64-bit kernel (its COMPAT); that cell runs what the
# primary cell runs. Every glibc cell first
# runs scripts/vm/probe.c, which asks the kernel what glibc registered (length, mode),
# and every cell the `whereami` example (who owns the area, as the runtime sees it).
#
# Tiers (scripts/vm/lib.sh, write_plan): `ci` (the default) runs in every cell the
# runtime's integration tests, smoke and descriptor walk, on the newest kernel in two
# cells the runtime's unit tests and the fork contract, and spreads the acceptance
# scenarios over the kernels so that each runs once per architecture; `full` runs
# everything in every cell on every kernel, and the kernel's own rseq selftests
# (scripts/rseq-selftests.sh: basic_test, param_test briefly) on each kernel. Foreign
# architectures also run the fallback checks under qemu-user, where rseq is ENOSYS.
#
# CPUs: every machine has 3 (`-smp 3`) and boots with `maxcpus=2`: the kernel brings up
# two, so that possible and present (0-2) are more than online (0-1) and the tests run on 2
# CPUs as before; cpu2 can come online later through sysfs. (qemu's `-smp 2,maxcpus=8`
# gives nothing here: 7.x x86_64 kernels count no hot-pluggable CPUs from qemu's ACPI
# tables, "Allowing 2 present CPUs plus 0 hotplug CPUs", and `virt` has no vCPU hot-plug.)
# The CPU hot-plug test (tests/hotplug/, issue 22) runs once per boot, in the primary
# cell, last: it takes CPUs offline and brings cpu2 online through sysfs.
#
# A static /init (scripts/vm/init.c) prints a marker per test on the serial console;
# pass/fail is read from those markers, never from qemu's exit code. Every test has a
# deadline: /init dumps a test that overruns it (threads, kernel and user stacks, sysrq t)
# and kills it, and this script symbolises the dump's user-space addresses.
#
# On a fresh Debian bookworm machine it installs what it needs: the Rust targets, Debian's
# cross gcc and glibc, patchelf, qemu-user-static, and qemu-system from bookworm-backports
# through a private APT configuration (the system's own sources are left as they are).
#
# aarch64 also runs the compiler's differential test (sectiontest/): random sections from
# a fresh seed, cross-built, run in the VM (on the newest kernel; every kernel in the full
# tier), compared with the reference interpreter on the host. VM_SECTIONTEST=0 leaves it
# out; VM_SECTIONS_SEED, VM_SECTIONS, VM_SECTION_STATES, VM_STORM_SECTIONS and
# VM_STORM_STATES set its seed and size (100 x 10, storm 30 x 5 x 2).
#
# Environment: VM_DIR (downloads and consoles, default vm; ARCH below it), VM_KERNELS
# (kernels as suite[:package], replacing the list below), VM_GLIBCS (the suites whose
# glibc goes in, `cross` for the cross glibc the binaries link against), VM_REPEAT="N WORDS" (instead of
# the test set: N runs of `acceptance --tiny WORDS` per own and primary cell, to measure
# how often a rare hang happens), VM_ACCEPTANCE / VM_ACCEPTANCE_OWN (acceptance groups),
# VM_ACCEPTANCE_SIZE (tiny), VM_TEST_DEADLINE / VM_ACCEPTANCE_DEADLINE (seconds per test:
# 300, 480), VM_BOOT_TIMEOUT (seconds per boot at most: 1800 for ci, 5400 for full),
# VM_INSTRUMENTED=0 (a build without the test instrumentation: no acceptance scenarios),
# VM_ALL_TESTS=1 (also the root crate's stress and unit tests; slow under emulation).
set -euo pipefail

usage() {
    echo "usage: $0 x86_64|aarch64|riscv64|s390x|ppc64le|loongarch64 [--tier ci|full] [--fetch-only] [--kernel SPEC]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
ARCH=$1
shift
TIER=ci
FETCH_ONLY=0
while [ $# -gt 0 ]; do
    case $1 in
    --fetch-only)
        FETCH_ONLY=1
        shift
        ;;
    --tier)
        [ $# -ge 2 ] || usage
        TIER=$2
        shift 2
        ;;
    --tier=*)
        TIER=${1#--tier=}
        shift
        ;;
    --kernel)
        [ $# -ge 2 ] || usage
        VM_KERNELS=$2
        shift 2
        ;;
    *) usage ;;
    esac
done
case $TIER in ci | full) ;; *) usage ;; esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/vm/lib.sh
source "$ROOT/scripts/vm/lib.sh"
# The architecture's row of lib.sh's tables: Debian and Rust names, qemu, kernels, glibcs.
arch_facts "$ARCH" || usage
if [ "$TIER" = full ]; then
    KERNELS=${VM_KERNELS:-$DEFAULT_KERNELS}
else
    KERNELS=${VM_KERNELS:-$CI_KERNELS}
fi
GLIBCS=${VM_GLIBCS:-$GLIBCS}
VM_ROOT=${VM_DIR:-$ROOT/vm}
VM=$VM_ROOT/$ARCH
START=$(date +%s)
mkdir -p "$VM"

# shellcheck source=scripts/vm/slice.sh
source "$ROOT/scripts/vm/slice.sh"
if slice_wanted && [ "$ARCH" != x86_64 ]; then die "the slice kernel is built for x86_64 only"; fi

install_host_tools
download_all
if [ "$FETCH_ONLY" = 1 ]; then
    log "fetched (tier $TIER) in $(($(date +%s) - START)) s"
    exit 0
fi
build_all
qemu_user_checks
define_cells
build_stage
build_slice_stage
build_sectiontest
log "cells: ${CELLS[*]} (primary: $PRIMARY); tier $TIER"
boot_all

# docs/kernels.md's rows: `python3 scripts/vm/summary.py --readme docs/kernels.md vm/*/console-*.log.txt`.
python3 "$ROOT/scripts/vm/summary.py" "$VM"/console-*.log.txt || true
log "total $(($(date +%s) - START)) s"
if [ "$vm_failed" != 0 ] || [ "$user_failed" != 0 ]; then
    die "$ARCH tests failed"
fi
echo "$ARCH: all tests passed on kernels: $KERNELS (tier $TIER)$([ "$CROSS_NATIVE" = 1 ] || echo "; qemu-user fallback checks passed")"
