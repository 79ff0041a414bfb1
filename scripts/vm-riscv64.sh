#!/usr/bin/env bash
# Runs the test suites on riscv64: on real riscv64 kernels under qemu-system (Debian's
# trixie 6.12 and sid 7.2), and the fallback checks under qemu-user, where rseq is ENOSYS.
# Recipe: shared/reference/rseq-facts.md, section 6. Same markers, test set and pass rule
# as scripts/aarch64-vm.sh, whose /init (scripts/vm/init.c) and archive writer
# (scripts/vm/newc.py) it reuses unchanged.
#
# Differences from aarch64, all from what riscv64 offers:
# - Rust ships no riscv64 musl std, so there is no musl pass. The glibc builds link against
#   Debian's cross glibc (2.36, bookworm), but run on trixie's riscv64 glibc 2.41, put in
#   the initramfs: 2.36 has no riscv64 rseq signature and never registers, 2.41 does
#   (length 32 on 6.12; 33, the kernel's V2 mode, on 7.2). Passes: glibc (glibc's area),
#   glibc-off/own (GLIBC_TUNABLES=glibc.pthread.rseq=0: the runtime's own area beside
#   glibc), and with RISCV64_VM_STATIC=1 a static build on glibc 2.36 (static/own: no libc
#   registration at all, the musl cell of aarch64; a second build, a few minutes more).
# - The machine: `-M virt -cpu rv64 -bios default` (OpenSBI, a dependency of
#   qemu-system-riscv), console ttyS0. Kernels are Debian's riscv64 images, found behind the
#   meta package linux-image-riscv64 of each suite (6.12: boot/vmlinux-*; 7.x:
#   linux-binary-*, usr/lib/modules/*/vmlinuz, uncompressed).
# - scripts/vm/init.c reads a hung test's registers only for aarch64 and x86_64; it is built
#   here through a small wrapper that gives its x86_64 branch riscv64's register names.
#
# Measured here (2 cores, busy machine): a fresh release build of the test set 775 s (225 s
# more for the static pass); then about 160 s per boot with 26 test runs, 255 s with the
# static pass (37 runs); 362 s in all with the build cached, 745 s with the static pass.
#
# Environment: RISCV64_VM_KERNELS (default "trixie sid"), RISCV64_VM_DIR (default
# vm/riscv64), RISCV64_VM_BOOT_TIMEOUT (seconds per boot, 900), RISCV64_VM_STATIC (1: the
# static pass too), RISCV64_VM_ACCEPTANCE_SIZE (tiny).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VM=${RISCV64_VM_DIR:-$ROOT/vm/riscv64}
KERNELS=${RISCV64_VM_KERNELS:-trixie sid}
BOOT_TIMEOUT=${RISCV64_VM_BOOT_TIMEOUT:-900}
STATIC=${RISCV64_VM_STATIC:-0}
GNU=riscv64gc-unknown-linux-gnu
CROSS_LIB=/usr/riscv64-linux-gnu/lib
LOADER=ld-linux-riscv64-lp64d.so.1
START=$(date +%s)
mkdir -p "$VM"

log() { echo "[riscv64-vm +$(($(date +%s) - START))s] $*"; }
die() { echo "[riscv64-vm] ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------
# 1. Host tools
# ---------------------------------------------------------------------------------------
apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v riscv64-linux-gnu-gcc >/dev/null || missing+=(gcc-riscv64-linux-gnu)
[ -e "$CROSS_LIB/libc.a" ] || missing+=(libc6-dev-riscv64-cross)
command -v qemu-riscv64-static >/dev/null || missing+=(qemu-user-static)
command -v python3 >/dev/null || missing+=(python3)
command -v jq >/dev/null || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt_install "${missing[@]}"
fi
rustup target list --installed | grep -qx "$GNU" || rustup target add "$GNU"

# The Debian archive this machine uses, read from its own sources (never hard-coded here).
read_archive() {
    local file=/etc/apt/sources.list.d/debian.sources
    if [ -r "$file" ]; then
        awk 'BEGIN { RS = ""; FS = "\n" }
            { uri = ""; key = ""; suites = "";
              for (i = 1; i <= NF; i++) {
                  if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, " "); uri = u[1] }
                  if ($i ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", $i); suites = " " $i " " }
                  if ($i ~ /^Signed-By:/) { sub(/^Signed-By:[ \t]*/, "", $i); key = $i }
              }
              if (suites ~ / bookworm /) { print uri, key; exit } }' "$file"
    else
        awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' \
            /etc/apt/sources.list
    fi
}
read -r ARCHIVE KEYRING < <(read_archive) || true
[ -n "${ARCHIVE:-}" ] || die "no bookworm source found in the system's APT configuration"
KEYRING=${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

# A private APT configuration: own sources, lists and cache; `status` is the real dpkg
# status for installing on this host, or an empty one for downloading riscv64 packages.
private_apt() { # DIR ARCH STATUS SUITES...
    local dir=$1 arch=$2 status=$3 suite
    shift 3
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/parts" "$dir/prefs"
    : >"$dir/sources.list"
    for suite in "$@"; do
        echo "deb [signed-by=$KEYRING] $ARCHIVE $suite main" >>"$dir/sources.list"
    done
    cat >"$dir/apt.conf" <<EOF
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
Dir::Etc::SourceList "$dir/sources.list";
Dir::Etc::SourceParts "$dir/parts";
Dir::Etc::PreferencesParts "$dir/prefs";
Dir::State::Lists "$dir/lists";
Dir::State::status "$status";
Dir::Cache "$dir/cache";
APT::Sandbox::User "root";
EOF
}

if ! command -v qemu-system-riscv64 >/dev/null; then
    # qemu 10 splits qemu-system-riscv out of qemu-system-misc; it depends on the OpenSBI
    # firmware that `-bios default` loads.
    log "installing qemu-system-riscv from bookworm-backports (private APT configuration)"
    private_apt "$VM/apt-host" "$(dpkg --print-architecture)" /var/lib/dpkg/status \
        bookworm bookworm-updates bookworm-backports
    export APT_CONFIG="$VM/apt-host/apt.conf"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -t bookworm-backports qemu-system-riscv >/dev/null
    unset APT_CONFIG
fi
log "tools: $(qemu-system-riscv64 --version | head -1), $(riscv64-linux-gnu-gcc --version | head -1)"

# ---------------------------------------------------------------------------------------
# 2. Kernels (behind each suite's linux-image-riscv64) and trixie's riscv64 glibc
# ---------------------------------------------------------------------------------------
suite_apt() { # SUITE -> the directory of a private riscv64 APT configuration, updated once
    local apt=$VM/apt-riscv64-$1
    if [ ! -e "$apt/updated" ]; then
        mkdir -p "$apt"
        : >"$apt/status"
        private_apt "$apt" riscv64 "$apt/status" "$1"
        APT_CONFIG="$apt/apt.conf" apt-get update -qq
        touch "$apt/updated"
    fi
    echo "$apt"
}

# Downloads PACKAGE[=VERSION] and unpacks it into DIR; follows the versioned
# linux-image-*/linux-binary-* dependencies of meta packages until an image appears.
unpack_image() { # APT PACKAGE DIR DEPTH
    local apt=$1 package=$2 dir=$3 depth=$4 deb next
    (cd "$dir" && APT_CONFIG="$apt/apt.conf" apt-get download -qq "$package")
    deb=$(ls -t "$dir"/*.deb | head -1)
    dpkg -x "$deb" "$dir/extracted"
    if find "$dir/extracted" \( -path '*/boot/vmlinu[xz]-*' -o -path '*/usr/lib/modules/*/vmlinuz' \) |
        grep -q .; then
        dpkg-deb -f "$deb" Package >"$dir/package"
        return
    fi
    [ "$depth" -lt 3 ] || { echo "no kernel image behind $package" >&2; return 1; }
    next=$(dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' |
        sed -n 's/^ *\(linux-\(image\|binary\)-[0-9][^ ]*\) *(= *\([^)]*\)).*/\1=\3/p' | head -1)
    [ -n "$next" ] || { echo "no image package behind $package" >&2; return 1; }
    unpack_image "$apt" "$next" "$dir" $((depth + 1))
}

fetch_kernel() { # SUITE -> $VM/kernels/SUITE/vmlinux
    local suite=$1 out=$VM/kernels/$1 apt tmp image
    [ -s "$out/vmlinux" ] && return
    apt=$(suite_apt "$suite")
    log "downloading the riscv64 kernel of $suite"
    tmp=$(mktemp -d "$VM/dl.XXXXXX")
    unpack_image "$apt" linux-image-riscv64 "$tmp" 0
    image=$(find "$tmp/extracted" \( -path '*/boot/vmlinu[xz]-*' -o -path '*/usr/lib/modules/*/vmlinuz' \) | head -1)
    mkdir -p "$out"
    cp "$image" "$out/vmlinux"
    cp "$tmp/package" "$out/package"
    rm -rf "$tmp"
}
for suite in $KERNELS; do fetch_kernel "$suite"; done

GLIBC=$VM/glibc-trixie
if [ ! -s "$GLIBC/$LOADER" ]; then
    log "downloading trixie's riscv64 glibc"
    apt=$(suite_apt trixie)
    tmp=$(mktemp -d "$VM/dl.XXXXXX")
    (cd "$tmp" && APT_CONFIG="$apt/apt.conf" apt-get download -qq libc6 libgcc-s1)
    for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$tmp/extracted"; done
    mkdir -p "$GLIBC"
    find "$tmp/extracted" \( -name '*.so.*' -o -name "$LOADER" \) \( -type f -o -type l \) \
        -exec cp -L {} "$GLIBC/" \;
    dpkg-deb -f "$(ls "$tmp"/libc6_*.deb)" Version >"$GLIBC/version"
    rm -rf "$tmp"
fi
log "glibc in the VM: $(cat "$GLIBC/version")"

# ---------------------------------------------------------------------------------------
# 3. Test binaries (release: the emulated CPUs are slow): the runtime's tests, and the
#    root crate's smoke test, descriptor walk and acceptance suite.
# ---------------------------------------------------------------------------------------
ROOT_TESTS=(--test smoke --test descriptors --test acceptance)
# Frame pointers and line tables, as for aarch64 (init.c's dump of a hung test).
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
build_tests() { # RUSTFLAGS TARGET_DIR -> "name path" lines
    local flags=$1 dir=$2
    export CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C force-frame-pointers=yes $flags"
    export CARGO_TARGET_DIR=$dir
    (cd "$ROOT" && cargo test --release --no-run --target "$GNU" -p rseq-dsl-runtime --tests \
        --all-features --quiet >&2 &&
        cargo test --release --no-run --target "$GNU" -p rseq-dsl "${ROOT_TESTS[@]}" \
            --all-features --quiet >&2)
    (cd "$ROOT" && {
        cargo test --release --no-run --target "$GNU" -p rseq-dsl-runtime --tests \
            --all-features --message-format=json
        cargo test --release --no-run --target "$GNU" -p rseq-dsl "${ROOT_TESTS[@]}" \
            --all-features --message-format=json
    } 2>/dev/null) |
        jq -r 'select(.reason == "compiler-artifact" and .executable != null
                      and .target.name != "ui")
               | "\(.target.name) \(.executable)"'
}
TARGET_BASE=${CARGO_TARGET_DIR:-$ROOT/target}
log "building test binaries for $GNU"
GNU_TESTS=$(build_tests "" "$TARGET_BASE")
[ -n "$GNU_TESTS" ] || die "no test executables found"
STATIC_TESTS=
if [ "$STATIC" = 1 ]; then
    log "building static test binaries (glibc 2.36, no libc registration)"
    STATIC_TESTS=$(build_tests "-C target-feature=+crt-static" "$TARGET_BASE/riscv64-static")
fi
log "built: $(awk '{ print $1 }' <<<"$GNU_TESTS" | sort | tr '\n' ' ')"

# ---------------------------------------------------------------------------------------
# 4. qemu-user: rseq is ENOSYS there, so only the unavailable path can pass (see the
#    aarch64 script): every API says NotImplemented, current_cpu() falls back.
# ---------------------------------------------------------------------------------------
user_failed=0
qemu_user() { # LABEL ENV... -- EXE ARGS...
    local label=$1
    shift
    local out
    if out=$(env "$@" 2>&1); then
        if grep -q "ENOSYS child: all checks passed\|test result: ok" <<<"$out"; then
            log "qemu-user PASS $label"
            return
        fi
    fi
    echo "$out" | tail -40
    log "qemu-user FAIL $label"
    user_failed=1
}
exe_of() { awk -v n="$2" '$1 == n { print $2 }' <<<"$1" | head -1; }
unavailable=$(exe_of "$GNU_TESTS" unavailable)
cpu=$(exe_of "$GNU_TESTS" cpu)
qemu_user "glibc unavailable (child role: all APIs NotImplemented)" \
    QEMU_LD_PREFIX=/usr/riscv64-linux-gnu RSEQ_DSL_TEST_CHILD_ROLE=seccomp-enosys \
    "$ROOT/scripts/deadline.sh" 120 \
    qemu-riscv64-static "$unavailable" --exact rseq_refused_with_enosys --nocapture
qemu_user "glibc cpu (current_cpu falls back to sched_getcpu)" \
    QEMU_LD_PREFIX=/usr/riscv64-linux-gnu "$ROOT/scripts/deadline.sh" 120 \
    qemu-riscv64-static "$cpu" --exact current_cpu_is_always_a_possible_cpu

# ---------------------------------------------------------------------------------------
# 5. The initramfs: /init, /plan, the test binaries and trixie's glibc
# ---------------------------------------------------------------------------------------
STAGE=$VM/initramfs
rm -rf "$STAGE"
mkdir -p "$STAGE/t/gnu" "$STAGE/t/static" "$STAGE/lib" "$STAGE/bin"
# init.c's hang dump has register branches for aarch64 and x86_64 only: its x86_64 branch,
# with riscv64's names (pc, s0 the frame pointer, sp), after every header it includes.
cat >"$VM/init-riscv64.c" <<EOF
#define _GNU_SOURCE
$(grep '^#include <' "$ROOT/scripts/vm/init.c")
#include <asm/ptrace.h>
#define __x86_64__ 1
#define rip pc
#define rbp s0
#define rsp sp
#include "$ROOT/scripts/vm/init.c"
EOF
riscv64-linux-gnu-gcc -static -Os -Wall -Wextra -Werror \
    -o "$STAGE/init" "$VM/init-riscv64.c"

copy_tests() { # LIST DIR
    while read -r name exe; do
        if [ -n "$name" ]; then riscv64-linux-gnu-strip -o "$2/$name" "$exe"; fi
    done <<<"$1"
}
copy_tests "$GNU_TESTS" "$STAGE/t/gnu"
copy_tests "$STATIC_TESTS" "$STAGE/t/static"
# trixie's shared libraries the glibc builds need, and the loader at its interpreter path.
for lib in $(riscv64-linux-gnu-readelf -d "$STAGE"/t/gnu/* | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u); do
    [ -e "$GLIBC/$lib" ] || die "$lib is not in trixie's libc6/libgcc-s1"
    cp -L "$GLIBC/$lib" "$STAGE/lib/"
done
cp -L "$GLIBC/$LOADER" "$STAGE/lib/"

# The plan, as for aarch64: every test binary once per registration path; the acceptance
# suite in groups of scenarios (one plan line and deadline each), at the tiny size.
ACCEPTANCE_GLIBC=${RISCV64_VM_ACCEPTANCE:-spinlock;list;buffer;records;membarrier;!spinlock !list !buffer !records !membarrier}
ACCEPTANCE_OWN=${RISCV64_VM_ACCEPTANCE_OWN:-signal/1+increment signal/1+spinlock;signal/1+list;signal/1+buffer signal/1+records signal/1+membarrier control fork}
ACCEPTANCE_SIZE=${RISCV64_VM_ACCEPTANCE_SIZE:-tiny}
ACCEPTANCE_DEADLINE=240
TEST_DEADLINE=150
{
    plan() { # LABEL ENV DIR LIST ACCEPTANCE_GROUPS SKIP
        local name group groups
        for name in $(awk '{ print $1 }' <<<"$4" | sort); do
            [ "$name" = "${6:-}" ] && continue
            if [ "$name" != acceptance ]; then
                printf '%s %s\t%s\t%s\t/t/%s/%s --test-threads=2\n' "$1" "$name" \
                    "$TEST_DEADLINE" "$2" "$3" "$name"
                continue
            fi
            IFS=';' read -r -a groups <<<"$5"
            for group in "${groups[@]}"; do
                printf '%s acceptance [%s]\t%s\t%s\t/t/%s/acceptance --%s %s !churn !glibc.pthread\n' \
                    "$1" "$group" "$ACCEPTANCE_DEADLINE" "$2" "$3" "$ACCEPTANCE_SIZE" "$group"
            done
        done
    }
    plan glibc LD_LIBRARY_PATH=/lib gnu "$GNU_TESTS" "$ACCEPTANCE_GLIBC" thread_churn
    plan glibc-off/own "LD_LIBRARY_PATH=/lib GLIBC_TUNABLES=glibc.pthread.rseq=0" gnu \
        "$GNU_TESTS" "$ACCEPTANCE_OWN"
    if [ -n "$STATIC_TESTS" ]; then
        plan static/own - static "$STATIC_TESTS" "$ACCEPTANCE_OWN" thread_churn
    fi
} >"$STAGE/plan"
python3 "$ROOT/scripts/vm/newc.py" "$VM/initrd.gz" "$STAGE"
log "initramfs: $(du -h "$VM/initrd.gz" | cut -f1), $(grep -c . "$STAGE/plan") test runs per boot"

# ---------------------------------------------------------------------------------------
# 6. Boot each kernel; the markers on the serial console decide
# ---------------------------------------------------------------------------------------
vm_failed=0
for suite in $KERNELS; do
    console=$VM/console-$suite.log
    log "booting $(cat "$VM/kernels/$suite/package") ($suite)"
    boot_start=$(date +%s)
    # qemu's exit status says nothing about the tests: it is ignored.
    timeout "$BOOT_TIMEOUT" qemu-system-riscv64 -M virt -cpu rv64 -smp 2 -m 1024 -nographic \
        -nic none -bios default -kernel "$VM/kernels/$suite/vmlinux" -initrd "$VM/initrd.gz" \
        -append 'console=ttyS0 panic=-1 quiet' -no-reboot </dev/null >"$console" 2>&1 || true
    tr -d '\r' <"$console" >"$console.txt"
    grep -E "RSEQ-VM:|^test result|^(counter|lock|stack|buffer|records|control|mm_cid)|aborts" \
        "$console.txt" | grep -v "RSEQ-VM: \(DUMP\|PC\) " || true
    if grep -q "^RSEQ-VM: PC " "$console.txt"; then
        log "a test overran its deadline: its dump, symbolised (console: $console.txt)"
        grep -E "RSEQ-VM: DUMP [0-9]+/[0-9]+ (comm|wchan|syscall|kernel)" "$console.txt" | head -400
        sym_pairs=("/lib/libc.so.6=$GLIBC/libc.so.6")
        while read -r name exe; do sym_pairs+=("/t/gnu/$name=$exe"); done <<<"$GNU_TESTS"
        if [ -n "$STATIC_TESTS" ]; then
            while read -r name exe; do sym_pairs+=("/t/static/$name=$exe"); done <<<"$STATIC_TESTS"
        fi
        python3 "$ROOT/scripts/vm/symbolize.py" "$console.txt" "${sym_pairs[@]}" | head -400
        log "the kernel's task dump (sysrq t)"
        sed -n '/sysrq: Show State/,/RSEQ-VM: DUMP end/p' "$console.txt" | head -800
    fi
    if grep -q "^RSEQ-VM: END" "$console.txt" &&
        grep -q "^RSEQ-VM: SUMMARY passed=[1-9][0-9]* failed=0$" "$console.txt" &&
        ! grep -q "^RSEQ-VM: FAIL" "$console.txt"; then
        log "PASS on $suite in $(($(date +%s) - boot_start)) s"
    else
        grep -v "RSEQ-VM: \(DUMP\|PC\) " "$console.txt" | grep -B60 "^RSEQ-VM: FAIL" | tail -150 ||
            tail -60 "$console.txt"
        log "FAIL on $suite (full console: $console.txt)"
        vm_failed=1
    fi
done

log "total $(($(date +%s) - START)) s"
if [ "$vm_failed" != 0 ] || [ "$user_failed" != 0 ]; then
    die "riscv64 tests failed"
fi
echo "riscv64: all tests passed on kernels: $KERNELS; qemu-user fallback checks passed"
