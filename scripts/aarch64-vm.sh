#!/usr/bin/env bash
# Runs the test suites on aarch64: on real arm64 kernels under qemu-system (Debian's
# bookworm 6.1 and bookworm-backports 6.12), and the fallback checks under qemu-user, where
# rseq is ENOSYS. Recipe: shared/reference/rseq-facts.md, section 5.
#
# On a fresh Debian bookworm machine it installs what it needs: the Rust aarch64 targets,
# Debian's cross gcc and arm64 glibc, qemu-user-static, and qemu-system-arm from
# bookworm-backports through a private APT configuration (the system's sources are left
# as they are). Kernels are fetched with `apt-get download` under a second private
# configuration with APT::Architecture "arm64" into vm/aarch64/ (ignored), and reused.
#
# Each boot runs the root crate's and the runtime's test binaries twice: static musl
# builds (no libc registration: the runtime registers its own area), and glibc builds with
# the arm64 glibc in the initramfs (glibc's area), the latter also with
# GLIBC_TUNABLES=glibc.pthread.rseq=0 (own area again, beside glibc). A static /init
# (scripts/vm/init.c) prints a marker per test on the serial console; pass/fail is read
# from those markers, never from qemu's exit code.
#
# Every test has a deadline (the plan's second field, sized at about 5x its normal time on
# 6.12): /init dumps a test that overruns it (threads, kernel and user stacks, sysrq t) and
# kills it, and this script symbolises the user-space addresses of the dump (the test
# binaries are built with frame pointers and line tables) before printing the verdict.
#
# Environment: AARCH64_VM_KERNELS (default "bookworm bookworm-backports"),
# AARCH64_VM_DIR (default vm/aarch64), AARCH64_VM_BOOT_TIMEOUT (seconds per boot, 900),
# AARCH64_VM_REPEAT="N WORDS" (instead of the test set: N runs of `acceptance --tiny WORDS`
# in each of the glibc and musl builds, to measure how often a rare hang happens).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VM=${AARCH64_VM_DIR:-$ROOT/vm/aarch64}
KERNELS=${AARCH64_VM_KERNELS:-bookworm bookworm-backports}
BOOT_TIMEOUT=${AARCH64_VM_BOOT_TIMEOUT:-900}
MUSL=aarch64-unknown-linux-musl
GNU=aarch64-unknown-linux-gnu
CROSS_LIB=/usr/aarch64-linux-gnu/lib
START=$(date +%s)
mkdir -p "$VM"

log() { echo "[aarch64-vm +$(($(date +%s) - START))s] $*"; }
die() { echo "[aarch64-vm] ERROR: $*" >&2; exit 1; }

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
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/libc.a ] || missing+=(libc6-dev-arm64-cross)
[ -e "$CROSS_LIB/ld-linux-aarch64.so.1" ] || missing+=(libc6-arm64-cross)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
command -v python3 >/dev/null || missing+=(python3)
command -v jq >/dev/null || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt_install "${missing[@]}"
fi

installed_targets=$(rustup target list --installed)
for t in "$MUSL" "$GNU"; do
    grep -qx "$t" <<<"$installed_targets" || rustup target add "$t"
done

# The Debian archive this machine uses, read from its own sources (never hard-coded here).
read_archive() {
    local file=/etc/apt/sources.list.d/debian.sources
    if [ -r "$file" ]; then
        # deb822: the stanza whose Suites include plain "bookworm".
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
# status for installing on this host, or an empty one for downloading arm64 packages.
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

if ! command -v qemu-system-aarch64 >/dev/null; then
    log "installing qemu-system-arm from bookworm-backports (private APT configuration)"
    private_apt "$VM/apt-host" "$(dpkg --print-architecture)" /var/lib/dpkg/status \
        bookworm bookworm-updates bookworm-backports
    export APT_CONFIG="$VM/apt-host/apt.conf"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -t bookworm-backports qemu-system-arm >/dev/null
    unset APT_CONFIG
fi
log "tools: $(qemu-system-aarch64 --version | head -1), $(aarch64-linux-gnu-gcc --version | head -1)"

# ---------------------------------------------------------------------------------------
# 2. Kernels: the Image of each suite's linux-image-arm64, fetched once
# ---------------------------------------------------------------------------------------
fetch_kernel() { # SUITE -> $VM/kernels/SUITE/vmlinuz
    local suite=$1 out=$VM/kernels/$1
    [ -s "$out/vmlinuz" ] && return
    local apt=$VM/apt-arm64
    if [ ! -e "$apt/updated" ]; then
        mkdir -p "$apt"
        : >"$apt/status"
        private_apt "$apt" arm64 "$apt/status" bookworm bookworm-backports
        APT_CONFIG="$apt/apt.conf" apt-get update -qq
        touch "$apt/updated"
    fi
    log "downloading the arm64 kernel of $suite"
    local tmp
    tmp=$(mktemp -d "$VM/dl.XXXXXX")
    (
        cd "$tmp"
        export APT_CONFIG="$apt/apt.conf"
        # `pkg/suite` may resolve to another suite of the same codename: pick by version.
        local version
        version=$(apt-cache madison linux-image-arm64 |
            awk -F'|' -v s=" $suite/main " 'index($3, s) { gsub(/ /, "", $2); print $2; exit }')
        [ -n "$version" ] || { echo "no linux-image-arm64 in $suite" >&2; exit 1; }
        apt-get download -qq "linux-image-arm64=$version"
        # The meta package depends on the versioned image package.
        local image
        image=$(dpkg-deb -f linux-image-arm64_*.deb Depends | tr ',' '\n' |
            sed -n 's/^ *\(linux-image-[0-9][^ ]*\) *(= *\([^)]*\)).*/\1=\2/p' | head -1)
        [ -n "$image" ] || { echo "no image package behind linux-image-arm64 $version" >&2; exit 1; }
        apt-get download -qq "$image"
        image=${image%%=*}
        dpkg -x "${image}"_*.deb extracted
        mkdir -p "$out"
        cp extracted/boot/vmlinuz-* "$out/vmlinuz"
        echo "$image" >"$out/package"
    )
    rm -rf "$tmp"
}
for suite in $KERNELS; do fetch_kernel "$suite"; done

# ---------------------------------------------------------------------------------------
# 3. Test binaries (release: the emulated CPUs are slow). The runtime's tests, and the root
#    crate's smoke test, descriptor walk and acceptance suite; AARCH64_VM_ALL=1 adds the
#    root crate's other tests (the `stress` suite and the library's unit tests), which take
#    many minutes under emulation.
# ---------------------------------------------------------------------------------------
ROOT_TESTS=(--test smoke --test descriptors --test acceptance --test fork)
if [ "${AARCH64_VM_ALL:-0}" = 1 ]; then ROOT_TESTS=(--lib --tests); fi
# Frame pointers and line tables: /init walks the frame chain of a hung test, and the
# host names the functions (scripts/vm/symbolize.py).
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C force-frame-pointers=yes"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C force-frame-pointers=yes"
build_tests() { # TARGET -> "name path" lines
    local target=$1
    # Twice each: a readable build (its errors shown), then the same with JSON, already fresh.
    (cd "$ROOT" && cargo test --release --no-run --target "$target" -p rseq-dsl-runtime --tests \
        --all-features --quiet >&2 &&
        cargo test --release --no-run --target "$target" -p rseq-dsl "${ROOT_TESTS[@]}" \
            --all-features --quiet >&2)
    (cd "$ROOT" && {
        cargo test --release --no-run --target "$target" -p rseq-dsl-runtime --tests \
            --all-features --message-format=json
        cargo test --release --no-run --target "$target" -p rseq-dsl "${ROOT_TESTS[@]}" \
            --all-features --message-format=json
    } 2>/dev/null) |
        jq -r 'select(.reason == "compiler-artifact" and .executable != null
                      and .target.name != "ui")
               | (if .target.name == "fork" and (.target.src_path | contains("/runtime/") | not)
                  then "fork_contract" else .target.name end) as $name
               | "\($name) \(.executable)"'
}
# (The root crate's tests/fork.rs, the fork contract, shares its name with the runtime's
# fork test: it goes by fork_contract in the VM.)
log "building test binaries for $MUSL and $GNU"
MUSL_TESTS=$(build_tests "$MUSL")
GNU_TESTS=$(build_tests "$GNU")
[ -n "$MUSL_TESTS" ] && [ -n "$GNU_TESTS" ] || die "no test executables found"
log "built: $(awk '{ print $1 }' <<<"$MUSL_TESTS" | sort | tr '\n' ' ')"

# ---------------------------------------------------------------------------------------
# 4. qemu-user: rseq is ENOSYS there, so only the unavailable path can pass. The
#    `unavailable` test normally re-executes itself under a seccomp filter that makes rseq
#    ENOSYS; qemu-user refuses seccomp filters (EINVAL), but its rseq is already ENOSYS, so
#    its child role runs directly: every API says NotImplemented, glibc registered nothing
#    (__rseq_size == 0 in the glibc build), current_cpu() falls back to sched_getcpu.
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
for libc in musl gnu; do
    if [ $libc = musl ]; then tests=$MUSL_TESTS; else tests=$GNU_TESTS; fi
    unavailable=$(exe_of "$tests" unavailable)
    cpu=$(exe_of "$tests" cpu)
    qemu_user "$libc unavailable (child role: all APIs NotImplemented)" \
        QEMU_LD_PREFIX=/usr/aarch64-linux-gnu RSEQ_DSL_TEST_CHILD_ROLE=seccomp-enosys \
        "$ROOT/scripts/deadline.sh" 120 \
        qemu-aarch64-static "$unavailable" --exact rseq_refused_with_enosys --nocapture
    qemu_user "$libc cpu (current_cpu falls back to sched_getcpu)" \
        QEMU_LD_PREFIX=/usr/aarch64-linux-gnu "$ROOT/scripts/deadline.sh" 120 \
        qemu-aarch64-static "$cpu" --exact current_cpu_is_always_a_possible_cpu
done

# ---------------------------------------------------------------------------------------
# 5. The initramfs: /init, /plan, the test binaries and the arm64 glibc
# ---------------------------------------------------------------------------------------
STAGE=$VM/initramfs
rm -rf "$STAGE"
mkdir -p "$STAGE/t/musl" "$STAGE/t/gnu" "$STAGE/lib" "$STAGE/bin"
aarch64-linux-gnu-gcc -static -Os -Wall -Wextra -Werror -o "$STAGE/init" "$ROOT/scripts/vm/init.c"

copy_tests() { # LIST DIR
    while read -r name exe; do
        aarch64-linux-gnu-strip -o "$2/$name" "$exe"
    done <<<"$1"
}
copy_tests "$MUSL_TESTS" "$STAGE/t/musl"
copy_tests "$GNU_TESTS" "$STAGE/t/gnu"
# The glibc builds' shared libraries, and the loader at its ELF interpreter path.
for lib in $(aarch64-linux-gnu-readelf -d "$STAGE"/t/gnu/* | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u); do
    cp -L "$CROSS_LIB/$lib" "$STAGE/lib/"
done
cp -L "$CROSS_LIB/ld-linux-aarch64.so.1" "$STAGE/lib/"

# Every test binary once per registration path: musl (no libc registration: own area),
# glibc (glibc's area), glibc with its registration off (own area beside glibc).
# The acceptance suite under emulation, in groups of scenarios (one plan line each, so that
# each has a deadline sized to its own time), at the tiny size (a tenth of the quick size's
# operations, at least one abort where a scenario forces them; AARCH64_VM_ACCEPTANCE_SIZE=
# quick for more): the glibc pass runs every scenario (each data structure x index x
# ordering x delay point x yield/signal/sleep, fork, seccomp, the control); the two
# own-area passes run the signal scenarios, fork and the control. Left out: the 10,000-thread churn scenario (the runtime's own churn test
# runs in an own-area pass) and the glibc-off child, which would rerun the whole suite
# (the own-area passes stand for it). `a+b` selects scenarios that contain both words.
ACCEPTANCE_GLIBC=${AARCH64_VM_ACCEPTANCE:-spinlock;list;buffer;records;membarrier;!spinlock !list !buffer !records !membarrier}
ACCEPTANCE_OWN=${AARCH64_VM_ACCEPTANCE_OWN:-signal/1+increment signal/1+spinlock;signal/1+list;signal/1+buffer signal/1+records signal/1+membarrier control fork}
# Deadlines, a few times each test's time on 6.12 under TCG with the machine busy (an
# acceptance group takes up to about 60 s, the runtime suite 20 s): a test that overruns
# is dumped, then killed, and fails.
ACCEPTANCE_SIZE=${AARCH64_VM_ACCEPTANCE_SIZE:-tiny}
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
    if [ -n "${AARCH64_VM_REPEAT:-}" ]; then
        read -r repeat words <<<"$AARCH64_VM_REPEAT"
        for ((i = 1; i <= repeat; i++)); do
            printf 'glibc %s #%d\t60\tLD_LIBRARY_PATH=/lib\t/t/gnu/acceptance --tiny %s\n' \
                "$words" "$i" "$words"
            printf 'musl %s #%d\t60\t-\t/t/musl/acceptance --tiny %s\n' "$words" "$i" "$words"
        done
    else
        plan glibc LD_LIBRARY_PATH=/lib gnu "$GNU_TESTS" "$ACCEPTANCE_GLIBC" thread_churn
        plan musl/own - musl "$MUSL_TESTS" "$ACCEPTANCE_OWN" thread_churn
        plan glibc-off/own "LD_LIBRARY_PATH=/lib GLIBC_TUNABLES=glibc.pthread.rseq=0" gnu \
            "$GNU_TESTS" "$ACCEPTANCE_OWN"
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
    timeout "$BOOT_TIMEOUT" qemu-system-aarch64 -M virt -cpu max -smp 2 -m 512 -nographic \
        -nic none -kernel "$VM/kernels/$suite/vmlinuz" -initrd "$VM/initrd.gz" \
        -append 'console=ttyAMA0 panic=-1 quiet' -no-reboot </dev/null >"$console" 2>&1 || true
    tr -d '\r' <"$console" >"$console.txt"
    # The test harnesses' result lines and the markers; the full console log stays in $VM.
    grep -E "RSEQ-VM:|^test result|^(counter|lock|stack|buffer|records|control|mm_cid)|aborts" \
        "$console.txt" | grep -v "RSEQ-VM: \(DUMP\|PC\) " || true
    if grep -q "^RSEQ-VM: PC " "$console.txt"; then
        log "a test overran its deadline: its dump, symbolised (console: $console.txt)"
        grep -E "RSEQ-VM: DUMP [0-9]+/[0-9]+ (comm|wchan|syscall|kernel)" "$console.txt" | head -400
        sym_pairs=("/lib/libc.so.6=$CROSS_LIB/libc.so.6")
        while read -r name exe; do sym_pairs+=("/t/musl/$name=$exe"); done <<<"$MUSL_TESTS"
        while read -r name exe; do sym_pairs+=("/t/gnu/$name=$exe"); done <<<"$GNU_TESTS"
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

consoles=()
for suite in $KERNELS; do consoles+=("$VM/console-$suite.log.txt"); done
# The README's aarch64 rows: `python3 scripts/vm/summary.py --readme README.md` on these.
python3 "$ROOT/scripts/vm/summary.py" "${consoles[@]}" || true
log "total $(($(date +%s) - START)) s"
if [ "$vm_failed" != 0 ] || [ "$user_failed" != 0 ]; then
    die "aarch64 tests failed"
fi
echo "aarch64: all tests passed on kernels: $KERNELS; qemu-user fallback checks passed"
