#!/usr/bin/env bash
# Builds a minimal x86_64 kernel with the rseq time-slice extension (issue 26) for
# qemu-system, from Debian's own kernel source, and installs it where scripts/vm.sh looks for
# its kernels:
#
#     scripts/kernel-build.sh [x86_64] [--check]
#
# Debian's 7.3 kernels are built without CONFIG_RSEQ_SLICE_EXTENSION. This script fetches
# `linux-source-7.3` (trixie-backports, through a private APT configuration made by
# scripts/vm/lib.sh's suite_apt, its lists in $VM_DIR/src/) once, unpacks it into
# $VM_DIR/src/ (vm/ is ignored by git), configures a minimal kernel (`make tinyconfig`, then only the options
# below, each one checked in the final .config after olddefconfig), and builds its bzImage
# with `nice -n 19 make -j2` under scripts/deadline.sh (KERNEL_BUILD_DEADLINE seconds,
# default 3600). The image is cached in $VM_DIR/kbuild/ARCH/KEY/ where KEY hashes the
# source package's version, the architecture and the option list: a second run with the
# same inputs builds nothing. It then copies the image to $VM_DIR/ARCH/kernels/slice/vmlinuz
# (with a `package` line for the boot log), so `scripts/vm.sh x86_64 --kernel slice` boots it.
# The build's wall, user and system times go to stdout and to KEY/build-time.
#
# Measured on the shared 2-vCPU machine (2026-12-07): from nothing (download 1 s, unpack and
# configure 42 s, the build 619 s wall, 476 s user, 93 s system at load 5 to 11) 11m01s in
# all; a second run 0.1 s. The bzImage is 2.5 MB.
#
# `--check` only says whether the cached image exists for the current inputs (exit 0) or
# not (exit 1); nothing is built or downloaded (but APT's lists, once).
#
# Environment: VM_DIR (default vm), KERNEL_BUILD_DEADLINE (seconds, 3600),
# KERNEL_BUILD_JOBS (2), SLICE_KERNEL_SOURCE (package, linux-source-7.3),
# SLICE_KERNEL_SUITE (trixie-backports).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ARCH=x86_64
CHECK_ONLY=0
for arg in "$@"; do
    case $arg in
    x86_64) ARCH=$arg ;;
    --check) CHECK_ONLY=1 ;;
    *)
        echo "usage: $0 [x86_64] [--check]" >&2
        exit 2
        ;;
    esac
done
case $ARCH in
x86_64)
    DEB_ARCH=amd64
    KARCH=x86_64
    IMAGE=arch/x86/boot/bzImage
    ;;
esac
VM_ROOT=${VM_DIR:-$ROOT/vm}
VM=$VM_ROOT/$ARCH
START=$(date +%s)
SOURCE_PACKAGE=${SLICE_KERNEL_SOURCE:-linux-source-7.3}
SOURCE_SUITE=${SLICE_KERNEL_SUITE:-trixie-backports}
JOBS=${KERNEL_BUILD_JOBS:-2}
# shellcheck source=scripts/vm/lib.sh
source "$ROOT/scripts/vm/lib.sh"
log() { echo "[kernel-build $ARCH +$(($(date +%s) - START))s] $*"; }
die() {
    echo "[kernel-build $ARCH] ERROR: $*" >&2
    exit 1
}

# The options on top of `make tinyconfig`, one per line (`NAME=y`, `NAME=n` or `NAME=VALUE`),
# each checked in the final .config. Why each is there:
#   64BIT SMP NR_CPUS               the machine: q35, 3 vCPUs booted with maxcpus=2 (tinyconfig's
#                                   NR_CPUS=2 would hide the third, which tests/hotplug onlines)
#   RSEQ RSEQ_SLICE_EXTENSION       the point of this kernel (needs HIGH_RES_TIMERS; x86
#   HIGH_RES_TIMERS EXPERT          selects GENERIC_ENTRY and HAVE_GENERIC_TIF_BITS);
#   RSEQ_STATS DEBUG_FS             RSEQ_STATS (behind EXPERT) counts grants in debugfs
#                                   rseq/stats, beside rseq/slice_ext_nsec and rseq/debug
#   MEMBARRIER FUTEX POSIX_TIMERS   what the tests and glibc/Rust std use: membarrier
#   EPOLL EVENTFD SIGNALFD TIMERFD  fences, futex locks and condvars, timers, madvise (the
#   ADVISE_SYSCALLS SHMEM TMPFS     allocator's trim), tmpfs for /tmp, seccomp filters (the
#   SECCOMP NET SECCOMP_FILTER      ENOSYS tests; filters need NET), uid syscalls, AF_UNIX
#   MULTIUSER UNIX                  (Rust's std spawns children with a socketpair)
#   BINFMT_ELF BINFMT_SCRIPT        executables, static and dynamic (PT_INTERP)
#   BLK_DEV_INITRD RD_GZIP          scripts/vm/newc.py writes a gzip newc archive
#   DEVTMPFS PROC_FS SYSFS          what scripts/vm/init.c mounts
#   SYSCTL MAGIC_SYSRQ              init.c's hang dump: printk level, `sysrq t`, stacks in
#   STACKTRACE KALLSYMS             /proc/PID/stack with names, process_vm_readv of the
#   CROSS_MEMORY_ATTACH             hung test's frames
#   UNWINDER_FRAME_POINTER          readable kernel stacks without objtool (tinyconfig: guess)
#   TTY SERIAL_8250                 console=ttyS0, as scripts/vm.sh boots x86_64
#   SERIAL_8250_CONSOLE PRINTK
#   ACPI PCI                        power-off at the end of /init (reboot(RB_POWER_OFF)),
#                                   CPUs enumerated as with Debian's kernels; without PCI
#                                   the DSDT does not load (AE_BAD_PARAMETER, PCI regions)
#                                   and the machine halts instead of powering off
#   HOTPLUG_CPU                     tests/hotplug offlines and onlines CPUs
#   IKCONFIG IKCONFIG_PROC          /proc/config.gz: the VM's check reads the option there
#   KERNEL_GZIP (not XZ)            faster than tinyconfig's xz
#   LOCALVERSION                    uname -r says which kernel this is
KERNEL_OPTIONS='64BIT=y
SMP=y
NR_CPUS=8
EXPERT=y
HIGH_RES_TIMERS=y
RSEQ=y
RSEQ_SLICE_EXTENSION=y
DEBUG_FS=y
RSEQ_STATS=y
MEMBARRIER=y
FUTEX=y
POSIX_TIMERS=y
EPOLL=y
EVENTFD=y
SIGNALFD=y
TIMERFD=y
ADVISE_SYSCALLS=y
SHMEM=y
TMPFS=y
SECCOMP=y
NET=y
UNIX=y
SECCOMP_FILTER=y
MULTIUSER=y
BINFMT_ELF=y
BINFMT_SCRIPT=y
BLK_DEV_INITRD=y
RD_GZIP=y
DEVTMPFS=y
PROC_FS=y
SYSFS=y
SYSCTL=y
MAGIC_SYSRQ=y
STACKTRACE=y
KALLSYMS=y
CROSS_MEMORY_ATTACH=y
UNWINDER_GUESS=n
UNWINDER_FRAME_POINTER=y
TTY=y
SERIAL_8250=y
SERIAL_8250_CONSOLE=y
PRINTK=y
ACPI=y
PCI=y
HOTPLUG_CPU=y
IKCONFIG=y
IKCONFIG_PROC=y
KERNEL_XZ=n
KERNEL_GZIP=y
LOCALVERSION="-rseq-slice"
LOCALVERSION_AUTO=n'

SRC_ROOT=$VM_ROOT/src
SRC=$SRC_ROOT/$SOURCE_PACKAGE

# lib.sh's private APT configuration for SOURCE_SUITE, in $VM_DIR/src/ rather than beside
# scripts/vm.sh's (CI runs this script while `vm.sh --fetch-only` updates those lists).
source_apt() { VM=$SRC_ROOT suite_apt "$SOURCE_SUITE"; }

# The source package's version: the unpacked tree's record, else the APT candidate (the
# private configuration's lists, fetched once).
source_version() {
    if [ -f "$SRC/.complete" ]; then
        cat "$SRC/.deb-version"
        return
    fi
    local apt
    apt=$(source_apt)
    APT_CONFIG="$apt/apt.conf" apt-cache policy "$SOURCE_PACKAGE" | sed -n 's/^ *Candidate: *//p'
}

# Downloads and unpacks the source once (166 MB deb; about 25 s to unpack here).
fetch_source() {
    [ -f "$SRC/.complete" ] && return
    local apt tmp version
    apt=$(source_apt)
    log "downloading $SOURCE_PACKAGE ($SOURCE_SUITE)"
    mkdir -p "$SRC_ROOT"
    tmp=$(mktemp -d "$SRC_ROOT/dl.XXXXXX")
    (cd "$tmp" && APT_CONFIG="$apt/apt.conf" apt-get download -qq "$SOURCE_PACKAGE")
    version=$(dpkg-deb -f "$tmp"/*.deb Version)
    log "unpacking $SOURCE_PACKAGE $version"
    rm -rf "$SRC"
    dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -xO --wildcards "*/$SOURCE_PACKAGE.tar.xz" |
        nice -n 19 xz -dc -T2 | tar -x -C "$SRC_ROOT"
    echo "$version" >"$SRC/.deb-version"
    rm -rf "$tmp"
    touch "$SRC/.complete"
}

# The host's build tools (the kernel needs flex, bison and libelf's headers besides gcc).
build_tools() {
    local missing=() tool
    for tool in make gcc flex bison bc; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    [ -e /usr/include/libelf.h ] || missing+=(libelf-dev)
    [ -e /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
    command -v xz >/dev/null || missing+=(xz-utils)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt_install "${missing[@]}"
    fi
}

# Every option of KERNEL_OPTIONS as it must read in .config.
expected_lines() {
    local line name value
    while IFS= read -r line; do
        name=${line%%=*}
        value=${line#*=}
        if [ "$value" = n ]; then
            echo "# CONFIG_$name is not set"
        else
            echo "CONFIG_$name=$value"
        fi
    done <<<"$KERNEL_OPTIONS"
}

configure() { # BUILD
    local build=$1 line name value args=() missing
    nice -n 19 make -s -C "$SRC" O="$build" ARCH="$KARCH" tinyconfig >/dev/null
    while IFS= read -r line; do
        name=${line%%=*}
        value=${line#*=}
        case $value in
        y) args+=(--enable "$name") ;;
        n) args+=(--disable "$name") ;;
        \"*\") value=${value#\"}; args+=(--set-str "$name" "${value%\"}") ;;
        *) args+=(--set-val "$name" "$value") ;;
        esac
    done <<<"$KERNEL_OPTIONS"
    "$SRC/scripts/config" --file "$build/.config" "${args[@]}"
    # Twice: an option whose dependency is enabled by the same pass (RSEQ_STATS needs
    # DEBUG_FS, the extension HIGH_RES_TIMERS) survives the second round.
    nice -n 19 make -s -C "$SRC" O="$build" ARCH="$KARCH" olddefconfig >/dev/null
    "$SRC/scripts/config" --file "$build/.config" "${args[@]}"
    nice -n 19 make -s -C "$SRC" O="$build" ARCH="$KARCH" olddefconfig >/dev/null
    missing=$(expected_lines | grep -vxF -f "$build/.config" || true)
    [ -z "$missing" ] || die "not in .config after olddefconfig (a dependency is missing):
$missing"
    log "configured: all $(grep -c . <<<"$KERNEL_OPTIONS") options in .config ($(grep -c '=y$' "$build/.config") =y in all)"
}

archive_init
version=$(source_version)
[ -n "$version" ] || die "no $SOURCE_PACKAGE in $SOURCE_SUITE"
KEY=$(printf '%s\n%s\n%s\n%s\n' "$SOURCE_PACKAGE" "$version" "$ARCH" "$KERNEL_OPTIONS" | sha256sum | cut -c1-16)
CACHE=$VM_ROOT/kbuild/$ARCH/$KEY
OUT=$VM/kernels/slice

install_image() {
    mkdir -p "$OUT"
    if ! cmp -s "$CACHE/bzImage" "$OUT/vmlinuz" 2>/dev/null; then
        cp "$CACHE/bzImage" "$OUT/vmlinuz.tmp"
        mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
    fi
    # scripts/vm/lib.sh's kernel_version reads major.minor from this line.
    echo "linux-image-$(cat "$CACHE/release") (built from $SOURCE_PACKAGE $version, config $KEY)" >"$OUT/package"
    echo "$SRC" >"$OUT/source"
    cp "$CACHE/config" "$OUT/config"
}

if [ "$CHECK_ONLY" = 1 ]; then
    if [ -s "$CACHE/bzImage" ]; then
        echo "$CACHE/bzImage"
        exit 0
    fi
    exit 1
fi

# One build at a time (CI's background build and scripts/vm.sh may both ask).
mkdir -p "$VM_ROOT/kbuild/$ARCH"
exec 9>"$VM_ROOT/kbuild/$ARCH/lock"
flock 9
if [ -s "$CACHE/bzImage" ]; then
    install_image
    log "cached: $CACHE/bzImage ($(cat "$CACHE/release"); built in $(cat "$CACHE/build-time"))"
    exit 0
fi

build_tools
fetch_source
[ "$(cat "$SRC/.deb-version")" = "$version" ] || die "unpacked $(cat "$SRC/.deb-version"), expected $version"
BUILD=$VM_ROOT/kbuild/$ARCH/build
# Out of tree, so the source stays clean for the selftests. The build tree is kept across
# option changes (kbuild rebuilds what a changed option touches); another source version
# starts over.
kind=incremental
if [ "$(cat "$BUILD/.rseq-dsl-source" 2>/dev/null)" != "$SOURCE_PACKAGE $version" ]; then
    rm -rf "$BUILD"
    mkdir -p "$BUILD"
    echo "$SOURCE_PACKAGE $version" >"$BUILD/.rseq-dsl-source"
    kind=fresh
fi
configure "$BUILD"
log "building $IMAGE of $SOURCE_PACKAGE $version (key $KEY) with nice -n 19 make -j$JOBS, deadline ${KERNEL_BUILD_DEADLINE:-3600} s"
TIMEFORMAT='%R %U %S'
load_before=$(cut -d' ' -f1 /proc/loadavg)
times=$({ time "$ROOT/scripts/deadline.sh" "${KERNEL_BUILD_DEADLINE:-3600}" \
    nice -n 19 make -s -C "$SRC" O="$BUILD" ARCH="$KARCH" -j"$JOBS" \
    KBUILD_BUILD_USER=rseq-dsl KBUILD_BUILD_HOST=kernel-build.sh bzImage >"$BUILD/make.log" 2>&1; } 2>&1) || {
    tail -40 "$BUILD/make.log"
    die "the kernel build failed (log: $BUILD/make.log)"
}
read -r real user sys <<<"$times"
mkdir -p "$CACHE.tmp"
cp "$BUILD/$IMAGE" "$CACHE.tmp/bzImage"
cp "$BUILD/.config" "$CACHE.tmp/config"
make -s -C "$SRC" O="$BUILD" ARCH="$KARCH" kernelrelease >"$CACHE.tmp/release"
printf '%.0f s wall, %.0f s user, %.0f s sys (%s build, make -j%s, nice 19, load %s before)\n' \
    "$real" "$user" "$sys" "$kind" "$JOBS" "$load_before" >"$CACHE.tmp/build-time"
rm -rf "$CACHE"
mv "$CACHE.tmp" "$CACHE"
install_image
log "built $(cat "$CACHE/release") in $(cat "$CACHE/build-time"); $(du -h "$CACHE/bzImage" | cut -f1) bzImage in $CACHE"
