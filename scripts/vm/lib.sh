# shellcheck shell=bash
# The shared steps of scripts/vm.sh, for every architecture: host tools, Debian downloads
# (kernels, glibc debs) through private APT configurations, cross-built test binaries, the
# initramfs, the boots and their verdicts. scripts/vm.sh sets the per-architecture values
# (ARCH, DEB_ARCH, CROSS, MUSL, GNU, LOADER, QEMU_*, KERNELS, GLIBCS, ...) and calls these
# functions in order; nothing here runs when the file is sourced.

log() { echo "[vm $ARCH +$(($(date +%s) - START))s] $*"; }
die() {
    echo "[vm $ARCH] ERROR: $*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------
# The architectures: every fact scripts/vm.sh and these steps need, one row each
# ---------------------------------------------------------------------------------------
# Machines and toolchains. `qemu-user`: the qemu-user-static binary's suffix (the fallback
# checks). Kernel arguments beyond vm.sh's own: loongarch64's kernel, booted without
# firmware (no ACPI tables), probes an i8042 controller that `virt` lacks and dies in
# i8042_flush (an address error in init) unless that initcall is left out. qemu's
# arguments come last (every machine also gets `-smp 3 -m 1024`, see vm.sh's header). s390x's console is the SCLP line console and ppc64's the hypervisor
# console; neither needs virtio (the initramfs holds everything). armv7 has no boot of its
# own: it is the aarch64 kernels' 32-bit compat cell (ARCH_KERNELS's last column).
ARCH_MACHINES='
# arch      | Debian  | cross triple          | Rust musl target           | Rust gnu target               | glibc loader                  | qemu-user   | qemu-system             | its package       | console  | kernel arguments              | qemu arguments
x86_64      | amd64   | x86_64-linux-gnu      | x86_64-unknown-linux-musl  | x86_64-unknown-linux-gnu      | ld-linux-x86-64.so.2          | x86_64      | qemu-system-x86_64      | qemu-system-x86   | ttyS0    | -                             | -machine q35 -cpu max
aarch64     | arm64   | aarch64-linux-gnu     | aarch64-unknown-linux-musl | aarch64-unknown-linux-gnu     | ld-linux-aarch64.so.1         | aarch64     | qemu-system-aarch64     | qemu-system-arm   | ttyAMA0  | -                             | -M virt -cpu max
riscv64     | riscv64 | riscv64-linux-gnu     | -                          | riscv64gc-unknown-linux-gnu   | ld-linux-riscv64-lp64d.so.1   | riscv64     | qemu-system-riscv64     | qemu-system-riscv | ttyS0    | -                             | -M virt -cpu rv64 -bios default
s390x       | s390x   | s390x-linux-gnu       | -                          | s390x-unknown-linux-gnu       | ld64.so.1                     | s390x       | qemu-system-s390x       | qemu-system-s390x | ttysclp0 | -                             | -M s390-ccw-virtio -cpu max
ppc64le     | ppc64el | powerpc64le-linux-gnu | -                          | powerpc64le-unknown-linux-gnu | ld64.so.2                     | ppc64le     | qemu-system-ppc64       | qemu-system-ppc   | hvc0     | -                             | -M pseries -cpu power9
loongarch64 | loong64 | loongarch64-linux-gnu | -                          | loongarch64-unknown-linux-gnu | ld-linux-loongarch-lp64d.so.1 | loongarch64 | qemu-system-loongarch64 | qemu-system-misc  | ttyS0    | initcall_blacklist=i8042_init | -M virt -cpu la464
armv7       | armhf   | arm-linux-gnueabihf   | -                          | armv7-unknown-linux-gnueabihf | ld-linux-armhf.so.3           | arm         | qemu-system-arm         | qemu-system-arm   | ttyAMA0  | -                             | -M virt -cpu max
'
# Kernels (suite[:package]; a bare suite means its linux-image-DEB_ARCH), full tier / ci
# tier; the glibc suites (one cell each); glibc versions without the architecture's rseq
# signature (they never register); the 32-bit compat cells (ARCH:suite...: that
# architecture's glibc, its binaries on these kernels). Bookworm is the only suite that
# serves s390x and ppc64el kernels here (trixie's give 404) and sid the only loong64 one.
ARCH_KERNELS='
# arch      | full tier                                                                           | ci tier                                                   | glibcs              | no signature | compat
x86_64      | bookworm bookworm-backports trixie-backports:linux-binary-unsigned-7.3.4+deb13-amd64 | trixie-backports:linux-binary-unsigned-7.3.4+deb13-amd64 | bookworm trixie sid | -            | -
aarch64     | bookworm bookworm-backports trixie-backports:linux-binary-7.3.4+deb13-arm64         | trixie-backports:linux-binary-7.3.4+deb13-arm64          | bookworm trixie sid | -            | armv7:trixie
riscv64     | trixie sid                                                                          | sid                                                       | trixie sid          | 2.36         | -
s390x       | bookworm                                                                            | bookworm                                                  | bookworm            | -            | -
ppc64le     | bookworm:linux-image-powerpc64le                                                    | bookworm:linux-image-powerpc64le                          | bookworm            | -            | -
loongarch64 | sid                                                                                 | sid                                                       | sid                 | -            | -
'
arch_row() { # TABLE ARCH -> the row's fields, one per line, trimmed (`-` as empty)
    awk -F'|' -v arch="$2" '
        { for (i = 1; i <= NF; i++) { gsub(/^[ \t]+|[ \t]+$/, "", $i) } }
        $1 == arch { for (i = 2; i <= NF; i++) print ($i == "-" ? "" : $i); found = 1 }
        END { exit !found }' <<<"$1"
}
# Sets the per-architecture variables for ARCH (fails for an unknown one):
# DEB_ARCH CROSS MUSL GNU LOADER QEMU_USER QEMU QEMU_PACKAGE QEMU_CONSOLE KERNEL_ARGS QEMU_ARGS
# CROSS_NATIVE, DEFAULT_KERNELS CI_KERNELS GLIBCS NO_GLIBC_RSEQ COMPAT.
arch_facts() { # ARCH
    local f k args
    mapfile -t f < <(arch_row "$ARCH_MACHINES" "$1") && [ ${#f[@]} = 11 ] || return 1
    mapfile -t k < <(arch_row "$ARCH_KERNELS" "$1") && [ ${#k[@]} = 5 ] || return 1
    DEB_ARCH=${f[0]} CROSS=${f[1]} MUSL=${f[2]} GNU=${f[3]} LOADER=${f[4]} QEMU_USER=${f[5]}
    QEMU=${f[6]} QEMU_PACKAGE=${f[7]} QEMU_CONSOLE=${f[8]} KERNEL_ARGS=${f[9]}
    read -r -a args <<<"${f[10]}"
    QEMU_ARGS=("${args[@]}" -smp 3 -m 1024)
    # The host's own gcc and glibc for its own architecture: no qemu-user.
    CROSS_NATIVE=0
    [ "$1" != "$(uname -m)" ] || CROSS_NATIVE=1
    # shellcheck disable=SC2034 # (vm.sh reads the kernel lists)
    DEFAULT_KERNELS=${k[0]} CI_KERNELS=${k[1]} GLIBCS=${k[2]} NO_GLIBC_RSEQ=${k[3]} COMPAT=${k[4]}
}
# One fact of another architecture's row (the compat cells'): COLUMN counts from 1 after
# the name (1 Debian, 2 cross triple, 4 gnu target, 5 loader, 6 qemu-user).
arch_fact() { # ARCH COLUMN
    arch_row "$ARCH_MACHINES" "$1" | sed -n "$2p"
}

# ---------------------------------------------------------------------------------------
# APT: the host's own configuration for cross tools, private ones for everything else
# ---------------------------------------------------------------------------------------
# Refused when the installation would remove a package: Debian's cross gccs conflict with
# some multilib packages (gcc-multilib removes gcc-aarch64-linux-gnu and the others), and
# what one script installs must never take away what another one needs.
apt_updated=0
# Scripts that install host packages take turns: .ci/run builds the slice kernel
# (kernel-build.sh) beside its downloads (vm.sh, targets-ci.sh), and apt and dpkg fail at
# once on each other's locks.
apt_turn() { # COMMAND...
    flock "${RSEQ_DSL_APT_LOCK:-/tmp/rseq-dsl-apt.lock}" "$@"
}

apt_install() { # PACKAGE... (host packages from the system's own sources)
    if [ "$apt_updated" = 0 ]; then
        apt_turn apt-get update -qq
        apt_updated=1
    fi
    local removed
    removed=$(DEBIAN_FRONTEND=noninteractive apt-get -s install -y --no-install-recommends "$@" |
        sed -n 's/^Remv \([^ ]*\).*/\1/p' | tr '\n' ' ')
    [ -z "$removed" ] || die "installing $* would remove $removed: refused"
    DEBIAN_FRONTEND=noninteractive apt_turn apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

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

archive_init() {
    read -r ARCHIVE KEYRING < <(read_archive) || true
    [ -n "${ARCHIVE:-}" ] || die "no bookworm source found in the system's APT configuration"
    KEYRING=${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
}

# A private APT configuration: own sources, lists and cache; `status` is the real dpkg
# status for installing on this host, or an empty one for downloading foreign packages.
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

# The directory of a private APT configuration for DEB (default DEB_ARCH) packages of one
# suite (an empty dpkg status: nothing is installed from it), its lists fetched once.
suite_apt() { # SUITE [DEB]
    local deb=${2:-$DEB_ARCH}
    local apt=$VM/apt-$deb-$1
    if [ ! -e "$apt/updated" ]; then
        mkdir -p "$apt"
        : >"$apt/status"
        private_apt "$apt" "$deb" "$apt/status" "$1"
        APT_CONFIG="$apt/apt.conf" apt-get update -qq
        touch "$apt/updated"
    fi
    echo "$apt"
}

# A cross gcc that bookworm's archive lacks (loongarch64): SUITE's gcc, binutils and the
# target's glibc, downloaded (never installed: the host's dpkg is untouched) and unpacked
# into DIR/root with SUITE's own host libraries, which its executables need (trixie's are
# built against glibc 2.38+): their interpreter and DT_RPATH point there (patchelf). Prints
# the wrapper DIR/bin/TRIPLE-gcc (with the sysroot); qemu-user's QEMU_LD_PREFIX for the
# programs it links is DIR/root/usr/TRIPLE. Done once (DIR/done).
unpacked_cross_gcc() { # SUITE TRIPLE DEB_ARCH DIR
    local suite=$1 triple=$2 target_deb=$3 dir=$4 apt deb f host versioned
    if [ ! -e "$dir/done" ]; then
        archive_init
        apt=$dir/apt
        mkdir -p "$apt" "$dir/debs" "$dir/root" "$dir/bin"
        : >"$apt/status"
        private_apt "$apt" "$(dpkg --print-architecture)" "$apt/status" "$suite"
        APT_CONFIG="$apt/apt.conf" apt-get update -qq
        # shellcheck disable=SC2046
        (cd "$dir/debs" && APT_CONFIG="$apt/apt.conf" apt-get download -qq $(
            APT_CONFIG="$apt/apt.conf" apt-cache depends --recurse --no-recommends \
                --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
                "gcc-$triple" "libc6-dev-$target_deb-cross" | grep '^[a-z0-9]' | sort -u))
        for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
        host=$dir/root/usr/lib/$(gcc -dumpmachine)
        [ -e "$host/libc.so.6" ] || die "$suite's libc6 did not unpack into $host"
        while IFS= read -r f; do
            if file "$f" | grep -q 'ELF.*interpreter'; then
                patchelf --set-interpreter "$host/$(basename "$(patchelf --print-interpreter "$f")")" \
                    --force-rpath --set-rpath "$host" "$f"
            fi
        done < <(find "$dir/root/usr/bin" "$dir/root/usr/libexec" "$dir/root/usr/$triple/bin" -type f)
        for versioned in "$dir/root/usr/bin/$triple"-gcc-[0-9]*; do break; done
        ln -sf "$(basename "$versioned")" "$dir/root/usr/bin/$triple-gcc"
        printf '#!/bin/sh\nexec %s --sysroot=%s "$@"\n' "$dir/root/usr/bin/$triple-gcc" "$dir/root" >"$dir/bin/$triple-gcc"
        chmod +x "$dir/bin/$triple-gcc"
        "$dir/bin/$triple-gcc" --version >/dev/null || die "the unpacked $triple-gcc does not run"
        touch "$dir/done"
    fi
    echo "$dir/bin/$triple-gcc"
}

# ---------------------------------------------------------------------------------------
# 1. Host tools: the cross gcc and glibc, qemu-user (foreign architectures), qemu-system
#    from bookworm-backports (qemu 10) through a private configuration with the real
#    dpkg status, the Rust targets.
# ---------------------------------------------------------------------------------------
# Where the cross glibc lives (qemu-user's prefix): Debian's cross packages, or the
# unpacked toolchain's (unpacked_cross_gcc).
CROSS_ROOT=

# The targets whose std is built from source (VM_ prefixed: scripts/targets-ci.sh sources
# this file and has a BUILD_STD_TARGETS of its own, which this once emptied).
VM_BUILD_STD_TARGETS=
install_host_tools() {
    local missing=()
    archive_init
    CROSS_ROOT=/usr/$CROSS
    if ! command -v "$CROSS-gcc" >/dev/null && ! apt-cache show "gcc-$CROSS" >/dev/null 2>&1; then
        # No cross gcc in the host's archive (bookworm, for loongarch64): trixie's, unpacked
        # beside its own host libraries; its binutils (strip, readelf) come with it.
        local dir=$VM_ROOT/cross-$CROSS
        unpacked_cross_gcc trixie "$CROSS" "$DEB_ARCH" "$dir" >/dev/null
        export PATH=$dir/bin:$dir/root/usr/bin:$PATH
        CROSS_ROOT=$dir/root/usr/$CROSS
    fi
    command -v "$CROSS-gcc" >/dev/null || missing+=("gcc-$CROSS")
    if [ "$CROSS_NATIVE" = 0 ]; then
        [ -e "$CROSS_ROOT/lib/libc.a" ] || [ -e "$CROSS_ROOT/usr/lib/$CROSS/libc.a" ] || missing+=("libc6-dev-$DEB_ARCH-cross")
        [ -e "$CROSS_ROOT/lib/$LOADER" ] || [ -e "$CROSS_ROOT/usr/lib/$CROSS/$LOADER" ] || missing+=("libc6-$DEB_ARCH-cross")
        command -v "qemu-$QEMU_USER-static" >/dev/null || missing+=(qemu-user-static)
    fi
    # The 32-bit compat cells' cross gcc and glibc (armv7 on aarch64).
    local compat cross deb
    for compat in $(compat_archs); do
        cross=$(arch_fact "$compat" 2) deb=$(arch_fact "$compat" 1)
        command -v "$cross-gcc" >/dev/null || missing+=("gcc-$cross")
        [ -e "/usr/$cross/lib/libc.a" ] || missing+=("libc6-dev-$deb-cross")
        [ -e "/usr/$cross/lib/$(arch_fact "$compat" 5)" ] || missing+=("libc6-$deb-cross")
    done
    local tool
    for tool in python3 jq patchelf zstd; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt_install "${missing[@]}"
    fi

    local installed t
    installed=$(rustup target list --installed)
    for t in $MUSL $GNU $(for compat in $(compat_archs); do arch_fact "$compat" 4; done); do
        grep -qx "$t" <<<"$installed" || rustup target add "$t" 2>/dev/null || {
            # No std for it in this rustup mirror (loongarch64): built from rust-src.
            log "no rust-std for $t: its std is built from source (-Zbuild-std)"
            grep -qx rust-src <<<"$(rustup component list --installed)" || rustup component add rust-src
            VM_BUILD_STD_TARGETS+=" $t"
        }
    done

    if ! command -v "$QEMU" >/dev/null; then
        log "installing $QEMU_PACKAGE from bookworm-backports (private APT configuration)"
        private_apt "$VM_ROOT/apt-host" "$(dpkg --print-architecture)" /var/lib/dpkg/status \
            bookworm bookworm-updates bookworm-backports
        export APT_CONFIG="$VM_ROOT/apt-host/apt.conf"
        apt-get update -qq
        # qemu 10's x86 and riscv machines want ipxe-qemu, which only bookworm has (the
        # backports resolution alone fails on it).
        dpkg -s ipxe-qemu >/dev/null 2>&1 ||
            DEBIAN_FRONTEND=noninteractive apt_turn apt-get install -y -qq --no-install-recommends ipxe-qemu >/dev/null
        DEBIAN_FRONTEND=noninteractive apt_turn apt-get install -y -qq --no-install-recommends \
            -t bookworm-backports "$QEMU_PACKAGE" >/dev/null
        unset APT_CONFIG
    fi
    log "tools: $($QEMU --version | head -1), $($CROSS-gcc --version | head -1)"
}

# ---------------------------------------------------------------------------------------
# 2. Downloads, once into $VM: kernels and glibc builds
# ---------------------------------------------------------------------------------------

# Downloads PACKAGE[=VERSION] into DIR and unpacks it; follows the versioned
# linux-image-*/linux-binary-* dependencies of meta packages until an image appears.
unpack_image() { # APT PACKAGE DIR DEPTH
    local apt=$1 package=$2 dir=$3 depth=$4 deb next
    (cd "$dir" && APT_CONFIG="$apt/apt.conf" apt-get download -qq "$package")
    deb=$(ls -t "$dir"/*.deb | head -1)
    dpkg -x "$deb" "$dir/extracted"
    if kernel_image_in "$dir/extracted" | grep -q .; then
        dpkg-deb -f "$deb" Package >"$dir/package"
        return
    fi
    [ "$depth" -lt 3 ] || { echo "no kernel image behind $package" >&2; return 1; }
    next=$(dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' |
        sed -n 's/^ *\(linux-\(image\|binary\)-[0-9u][^ ]*\) *(= *\([^)]*\)).*/\1=\3/p' | head -1)
    [ -n "$next" ] || { echo "no image package behind $package" >&2; return 1; }
    unpack_image "$apt" "$next" "$dir" $((depth + 1))
}

# Where Debian puts the image: boot/vmlinu[xz]-* up to 6.x, usr/lib/modules/*/vmlinuz
# (vmlinuz.unsigned in the unsigned amd64 packages) from 7.x on.
kernel_image_in() { # DIR
    find "$1" \( -path '*/boot/vmlinu[xz]-*' -o -path '*/usr/lib/modules/*/vmlinuz*' \) \
        \( -type f -o -type l \) | head -1
}

# An EFI zboot image (loong64's vmlinuz: a PE stub with a compressed kernel inside) is
# something qemu's -kernel refuses ("unable to handle EFI zboot image with zstd
# compression"); the kernel inside, a plain EFI-stub Image, boots directly. Its header:
# "MZ", "zimg" at 4, the payload's offset and size (le32) at 8 and 12, the compression
# ("zstd", "gzip") at 24.
unzboot() { # IMAGE (replaced in place by its payload, if it is a zboot image)
    local kind
    kind=$(python3 - "$1" <<'PY'
import struct, sys
path = sys.argv[1]
with open(path, "rb") as f:
    head = f.read(32)
    if head[:2] != b"MZ" or head[4:8] != b"zimg":
        sys.exit(0)
    offset, size = struct.unpack_from("<II", head, 8)
    f.seek(offset)
    payload = f.read(size)
with open(path + ".payload", "wb") as out:
    out.write(payload)
print(head[24:32].rstrip(b"\0").decode())
PY
    ) || die "reading $1's zboot header failed"
    case $kind in
    "") return ;;
    zstd) zstd -q -d -f "$1.payload" -o "$1" ;;
    gzip) gzip -d -c "$1.payload" >"$1" ;;
    *) die "$1: an EFI zboot image compressed with $kind" ;;
    esac
    rm -f "$1.payload"
    log "$1: the kernel inside its EFI zboot image ($kind), unpacked"
}

kernel_suite() { echo "${1%%:*}"; }
kernel_package() { # SPEC: suite[:package] (default: the suite's linux-image-DEB_ARCH)
    local package=${1#*:}
    [ "$package" = "$1" ] && package=linux-image-$DEB_ARCH
    echo "$package"
}
kernel_file() { # SUITE -> the image fetched for it
    ls "$VM/kernels/$1"/vmlinu[xz] 2>/dev/null | head -1
}

fetch_kernel() { # SPEC -> $VM/kernels/SUITE/vmlinuz
    local suite package out apt tmp image
    suite=$(kernel_suite "$1")
    # `slice`: not Debian's image but one built from Debian's source with the rseq time-slice
    # extension (scripts/kernel-build.sh: cached, instant once built; scripts/vm/slice.sh).
    if [ "$suite" = slice ]; then
        "$ROOT/scripts/kernel-build.sh" "$ARCH" || die "the slice kernel did not build"
        return
    fi
    package=$(kernel_package "$1")
    out=$VM/kernels/$suite
    [ -n "$(kernel_file "$suite")" ] && return
    apt=$(suite_apt "$suite")
    log "downloading the $DEB_ARCH kernel of $suite ($package)"
    tmp=$(mktemp -d "$VM/dl.XXXXXX")
    unpack_image "$apt" "$package" "$tmp" 0
    image=$(kernel_image_in "$tmp/extracted")
    mkdir -p "$out"
    cp -L "$image" "$out/vmlinuz"
    unzboot "$out/vmlinuz"
    cp "$tmp/package" "$out/package"
    rm -rf "$tmp"
}

# One suite's glibc (libc6 and libgcc-s1: the loader, libc, libm, libgcc_s, ...) into
# $VM/glibc/SUITE, with its upstream version in `version`. The suite `cross` is the cross
# glibc the binaries link against (libc6-DEB_ARCH-cross, bookworm's 2.36): bookworm itself
# has no riscv64 packages.
fetch_glibc() { # SUITE | COMPAT-ARCH:SUITE (then into $VM/glibc/COMPAT-ARCH-SUITE)
    local suite=${1#*:} dir=$VM/glibc/${1/:/-} apt tmp deb debarch=$DEB_ARCH loader=$LOADER
    if [ "$suite" != "$1" ]; then
        debarch=$(arch_fact "${1%%:*}" 1) loader=$(arch_fact "${1%%:*}" 5)
    fi
    [ -s "$dir/$loader" ] && [ -s "$dir/version" ] && return
    if [ "$suite" = cross ]; then
        rm -rf "$dir"
        mkdir -p "$dir"
        find "/usr/$CROSS/lib/" -maxdepth 1 \( -name '*.so.*' -o -name "$LOADER" \) \
            \( -type f -o -type l \) -exec cp -L {} "$dir/" \;
        dpkg-query -W -f '${Version}' "libc6-$DEB_ARCH-cross" | sed 's/-.*//' >"$dir/version"
        return
    fi
    apt=$(suite_apt "$suite" "$debarch")
    log "downloading the $debarch glibc of $suite"
    tmp=$(mktemp -d "$VM/dl.XXXXXX")
    (cd "$tmp" && APT_CONFIG="$apt/apt.conf" apt-get download -qq libc6 libgcc-s1)
    for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$tmp/extracted"; done
    rm -rf "$dir"
    mkdir -p "$dir"
    find "$tmp/extracted" \( -name '*.so.*' -o -name "$loader" \) \( -type f -o -type l \) \
        -exec cp -L {} "$dir/" \;
    # 2.41-12 -> 2.41
    dpkg-deb -f "$(ls "$tmp"/libc6_*.deb)" Version | sed 's/-.*//' >"$dir/version"
    rm -rf "$tmp"
}
glibc_version() { cat "$VM/glibc/${1/:/-}/version"; } # SUITE | COMPAT-ARCH:SUITE

# The compat cells (ARCH_KERNELS's last column): their architectures, and every
# glibc as COMPAT-ARCH:SUITE.
compat_archs() {
    local c
    for c in $COMPAT; do echo "${c%%:*}"; done
}
compat_glibcs() {
    local c s
    for c in $COMPAT; do
        IFS=: read -r -a s <<<"$c"
        for s in "${s[@]:1}"; do echo "${c%%:*}:$s"; done
    done
}

download_all() {
    local spec suite
    for spec in $KERNELS; do fetch_kernel "$spec"; done
    for suite in $GLIBCS $(compat_glibcs); do fetch_glibc "$suite"; done
    log "kernels: $(for spec in $KERNELS; do cat "$VM/kernels/$(kernel_suite "$spec")/package"; done | tr '\n' ' ')"
    log "glibcs: $(for suite in $GLIBCS $(compat_glibcs); do echo -n "$suite $(glibc_version "$suite"), "; done)"
}

# ---------------------------------------------------------------------------------------
# 3. Test binaries (release: the emulated CPUs are slow), with frame pointers and line
#    tables: /init walks the frame chain of a hung test, and the host names the functions
#    (scripts/vm/symbolize.py). The runtime's tests, the root crate's smoke test,
#    descriptor walk, acceptance suite, fork contract and CPU hot-plug test, and the
#    whereami example.
# ---------------------------------------------------------------------------------------
build_tests() { # TARGET CROSS -> "name path" lines
    local target=$1 var
    # Debian's cross gcc links (and for the gnu targets, against its cross glibc 2.36).
    export "CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$target")_LINKER=$2-gcc"
    var=CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$target")_RUSTFLAGS
    # rseq_dsl_vm: the root Cargo.toml leaves the host-only dev tools (benches, compile-fail
    # suite) out of these builds. The test instrumentation's cfgs (scripts/instrumented.sh):
    # the acceptance suite forces its restarts with injected delays.
    # VM_INSTRUMENTED=0 builds without it (the acceptance suite then has no scenarios): for a
    # backend whose instrumented sections do not build yet.
    local cfgs=
    [ "${VM_INSTRUMENTED:-1}" = 0 ] || cfgs=$("$ROOT/scripts/instrumented.sh" printenv RSEQ_INSTRUMENTED_CFGS)
    # Frame pointers, for the hang dumps' stack walk (init.c), except on s390x: there LLVM
    # reserves r11 for it, leaving `reg_addr`'s 13 registers exactly, and an input still
    # live after a section then needs one more (its copy); the smoke test's widest sections
    # (13 operands under `delays compare_twice`) fail in LLVM ("inline assembly requires
    # more registers than available"). init.c's walk follows no s390x chain anyway.
    local frame_pointers="-C force-frame-pointers=yes"
    [ "$target" != s390x-unknown-linux-gnu ] || frame_pointers=
    export "$var=$frame_pointers --cfg rseq_dsl_vm $cfgs"
    export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
    local root_tests=(--test smoke --test descriptors --test acceptance --test fork --test hotplug)
    # Our time-slice extension tests (issue 26), once they exist: they run on the slice kernel.
    if [ -e "$ROOT/tests/slice.rs" ] || [ -e "$ROOT/tests/slice/main.rs" ]; then root_tests+=(--test slice); fi
    if [ "${VM_ALL_TESTS:-0}" = 1 ]; then root_tests=(--lib --tests); fi
    local std=()
    if [[ " $VM_BUILD_STD_TARGETS " == *" $target "* ]]; then
        std=("-Zbuild-std=std,panic_abort")
        export RUSTC_BOOTSTRAP=1
    fi
    local runtime=(cargo test "${std[@]}" --release --no-run --target "$target" -p rseq-dsl-runtime --tests --all-features)
    local crate=(cargo test "${std[@]}" --release --no-run --target "$target" -p rseq-dsl "${root_tests[@]}" --all-features)
    local example=(cargo build "${std[@]}" --release --target "$target" -p rseq-dsl --example whereami --all-features)
    # The allocator's tests, each with it as the global allocator (full tier: under
    # emulation they take minutes, more than CI's budget leaves).
    local alloc=(true)
    if [ "$TIER" = full ]; then
        alloc=(cargo test "${std[@]}" --release --no-run --target "$target" -p rseq-dsl-alloc --test global --test workloads)
    fi
    # Twice each: a readable build (its errors shown), then the same with JSON, already fresh.
    (cd "$ROOT" && nice -n 19 "${runtime[@]}" --quiet >&2 && nice -n 19 "${crate[@]}" --quiet >&2 &&
        nice -n 19 "${example[@]}" --quiet >&2 && nice -n 19 "${alloc[@]}" --quiet >&2) ||
        die "the $target build failed"
    # (The root crate's tests/fork.rs, the fork contract, shares its name with the runtime's
    # fork test: it goes by fork_contract in the VM.)
    (cd "$ROOT" && {
        "${runtime[@]}" --message-format=json && "${crate[@]}" --message-format=json &&
            "${example[@]}" --message-format=json && "${alloc[@]}" --message-format=json
    } 2>/dev/null) |
        jq -r 'select(.reason == "compiler-artifact" and .executable != null
                      and .target.name != "ui")
               | (if .target.name == "fork" and (.target.src_path | contains("/runtime/") | not)
                  then "fork_contract" else .target.name end) as $name
               | "\($name) \(.executable)"'
}
exe_of() { awk -v n="$2" '$1 == n { print $2 }' <<<"$1" | head -1; }

build_all() {
    if [ -n "$MUSL" ]; then
        log "building test binaries for $MUSL"
        MUSL_TESTS=$(build_tests "$MUSL" "$CROSS")
        [ -n "$MUSL_TESTS" ] || die "no $MUSL test executables found"
    fi
    log "building test binaries for $GNU"
    GNU_TESTS=$(build_tests "$GNU" "$CROSS")
    [ -n "$GNU_TESTS" ] || die "no $GNU test executables found"
    log "built: $(awk '{ print $1 }' <<<"$GNU_TESTS" | sort | tr '\n' ' ')"
    local compat target
    for compat in $(compat_archs); do
        target=$(arch_fact "$compat" 4)
        log "building test binaries for $target (the compat cells)"
        COMPAT_TESTS[$compat]=$(build_tests "$target" "$(arch_fact "$compat" 2)")
        [ -n "${COMPAT_TESTS[$compat]}" ] || die "no $target test executables found"
    done
}
declare -A COMPAT_TESTS=() # compat architecture -> "name path" lines

# ---------------------------------------------------------------------------------------
# 4. qemu-user (foreign architectures only): rseq is ENOSYS there, so only the unavailable
#    path can pass. The `unavailable` test normally re-executes itself under a seccomp
#    filter that makes rseq ENOSYS; qemu-user refuses seccomp filters (EINVAL), but its
#    rseq is already ENOSYS, so its child role runs directly: every API says
#    NotImplemented, glibc registered nothing, current_cpu() falls back to sched_getcpu.
# ---------------------------------------------------------------------------------------
user_failed=0
qemu_user() { # LABEL ENV... -- EXE ARGS...
    local label=$1 out
    shift
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
qemu_user_checks() {
    local abi tests cross user prefix
    for abi in musl gnu $(compat_archs); do
        case $abi in
        musl) tests=${MUSL_TESTS:-} cross=$CROSS user=$QEMU_USER prefix=$CROSS_ROOT ;;
        gnu) tests=$GNU_TESTS cross=$CROSS user=$QEMU_USER prefix=$CROSS_ROOT ;;
        *)
            tests=${COMPAT_TESTS[$abi]} cross=$(arch_fact "$abi" 2) user=$(arch_fact "$abi" 6)
            prefix=/usr/$cross
            ;;
        esac
        [ -n "$tests" ] || continue
        [ "$CROSS_NATIVE" = 1 ] && [ "$cross" = "$CROSS" ] && continue
        qemu_user "$abi unavailable (child role: all APIs NotImplemented)" \
            QEMU_LD_PREFIX="$prefix" RSEQ_DSL_TEST_CHILD_ROLE=seccomp-enosys \
            "$ROOT/scripts/deadline.sh" 120 \
            "qemu-$user-static" "$(exe_of "$tests" unavailable)" --exact rseq_refused_with_enosys --nocapture
        qemu_user "$abi cpu (current_cpu falls back to sched_getcpu)" \
            QEMU_LD_PREFIX="$prefix" "$ROOT/scripts/deadline.sh" 120 \
            "qemu-$user-static" "$(exe_of "$tests" cpu)" --exact current_cpu_is_always_a_possible_cpu
    done
}

# ---------------------------------------------------------------------------------------
# 5. The libc cells and the initramfs
#
# Cells (the first word of every plan label): `musl` (static, no libc registration: the
# runtime's own area), `glibc-V` for each glibc of GLIBCS (glibc's area where that glibc
# registers), `glibc-V-off` for the newest glibc with GLIBC_TUNABLES=glibc.pthread.rseq=0
# (the own area beside glibc). The glibc binaries are built once against the cross glibc
# 2.36 and copied per glibc with their ELF interpreter and RPATH pointed at /glibc-V/, that
# glibc's loader and libraries from its Debian deb (newer glibcs run binaries linked
# against older ones): one boot serves every cell, and a test that re-executes itself
# (/proc/self/exe) stays on its glibc.
# ---------------------------------------------------------------------------------------
kernel_version() { # SUITE -> major.minor of the fetched image's package
    sed -n 's/^linux-\(image\|binary\)-\(unsigned-\)\?\([0-9]*\.[0-9]*\).*/\3/p' "$VM/kernels/$1/package"
}
version_at_least() { # A B: A >= B (major.minor)
    [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$2" ]
}

CELLS=()
cell_dir() { echo "${1%-off}"; }
# Every glibc's cell name, with the glibc it runs (SUITE or COMPAT-ARCH:SUITE): glibc-V,
# or for the compat cells ARCH-glibc-V (armv7-glibc-2.41).
glibc_cells() { # -> "CELL KEY" lines
    local key
    for key in $GLIBCS; do echo "glibc-$(glibc_version "$key") $key"; done
    for key in $(compat_glibcs); do echo "${key%%:*}-glibc-$(glibc_version "$key") $key"; done
}
glibc_key() { glibc_cells | awk -v c="$(cell_dir "$1")" '$1 == c { print $2 }'; } # CELL
define_cells() {
    CELLS=()
    [ -n "$MUSL" ] && CELLS+=(musl)
    local suite newest=
    for suite in $GLIBCS; do
        newest=glibc-$(glibc_version "$suite")
        CELLS+=("$newest")
    done
    CELLS+=("$newest-off")
    PRIMARY=$newest
    COMPAT_CELLS=()
    for suite in $(compat_glibcs); do COMPAT_CELLS+=("${suite%%:*}-glibc-$(glibc_version "$suite")"); done
    CELLS+=("${COMPAT_CELLS[@]}")
}
cell_env() { # CELL
    case $1 in
    *-off) echo GLIBC_TUNABLES=glibc.pthread.rseq=0 ;;
    *) echo - ;;
    esac
}
# Whether glibc registers in CELL (the probe's expectation): not with the tunable off,
# not where that glibc has no signature for the architecture (NO_GLIBC_RSEQ: versions).
cell_expects_glibc() {
    case $1 in
    musl | *-off) return 1 ;;
    esac
    local v
    for v in ${NO_GLIBC_RSEQ:-}; do [ "$1" = "glibc-$v" ] && return 1; done
    return 0
}

build_stage() {
    STAGE=$VM/initramfs
    rm -rf "$STAGE"
    mkdir -p "$STAGE/t" "$STAGE/bin"
    # /init: init.c, static, with the architecture's register names for its hang dumps.
    "$CROSS-gcc" -static -Os -Wall -Wextra -Werror -o "$STAGE/init" "$ROOT/scripts/vm/init.c"
    if [ -n "$MUSL" ]; then
        mkdir -p "$STAGE/t/musl"
        while read -r name exe; do "$CROSS-strip" -o "$STAGE/t/musl/$name" "$exe"; done <<<"$MUSL_TESTS"
    fi
    if [ "$TIER" = full ]; then
        # The kernel's own rseq selftests (6.1's sources, static): a baseline that the VM
        # itself behaves as the kernel's authors expect.
        # shellcheck source=scripts/rseq-selftests.sh
        source "$ROOT/scripts/rseq-selftests.sh"
        rseq_selftests_build "$CROSS-gcc" "$VM/selftests" static 2>/dev/null ||
            die "the kernel's rseq selftests did not build"
        mkdir -p "$STAGE/t/selftests"
        cp "$VM/selftests"/basic_test "$VM/selftests"/param_test "$STAGE/t/selftests/"
    fi
    # Each glibc cell: the binaries of its ABI (the architecture's own, or a compat one's),
    # its loader and libraries in /CELL/, and probe.c built by that ABI's cross gcc.
    local cell key cross loader tests from dir lib
    while read -r cell key; do
        if [ "$key" = "${key#*:}" ]; then
            cross=$CROSS loader=$LOADER tests=$GNU_TESTS
        else
            cross=$(arch_fact "${key%%:*}" 2) loader=$(arch_fact "${key%%:*}" 5)
            tests=${COMPAT_TESTS[${key%%:*}]}
        fi
        from=$VM/glibc/${key/:/-}
        dir=$STAGE/t/$cell
        mkdir -p "$dir" "$STAGE/$cell"
        cp -L "$from/$loader" "$STAGE/$cell/"
        while read -r name exe; do "$cross-strip" -o "$dir/$name" "$exe"; done <<<"$tests"
        "$cross-gcc" -O2 -Wall -Wextra -Werror -o "$dir/probe" "$ROOT/scripts/vm/probe.c"
        for lib in $("$cross-readelf" -d "$dir"/* | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u); do
            [ -e "$from/$lib" ] || die "$lib is not in ${key}'s libc6/libgcc-s1"
            cp -L "$from/$lib" "$STAGE/$cell/"
        done
        for exe in "$dir"/*; do
            patchelf --set-interpreter "/$cell/$loader" --force-rpath --set-rpath "/$cell" "$exe"
        done
    done < <(glibc_cells)
}

# The plan of one boot (init.c's format: label, deadline, environment, command).
# Deadlines: several times a test's time under TCG on a busy 2-core host (an acceptance
# group takes up to about 60 s, the runtime's unit tests 20 s), finite so that a hang is
# dumped and fails rather than stalling the boot.
TEST_DEADLINE=${VM_TEST_DEADLINE:-300}
ACCEPTANCE_DEADLINE=${VM_ACCEPTANCE_DEADLINE:-480}
ACCEPTANCE_SIZE=${VM_ACCEPTANCE_SIZE:-tiny}
# The acceptance suite in groups of scenarios (one plan line and deadline each), `;`
# between groups, `a+b` for scenarios containing both words. ALL covers every scenario but
# the 10,000-thread churn and the glibc-off child (which reruns the whole suite; the own
# cells stand for it); OWN the signal scenarios, fork and the control.
ACCEPTANCE_ALL=${VM_ACCEPTANCE:-spinlock;list;buffer;records;membarrier;!spinlock !list !buffer !records !membarrier}
ACCEPTANCE_OWN=${VM_ACCEPTANCE_OWN:-signal/1+increment signal/1+spinlock;signal/1+list;signal/1+buffer signal/1+records signal/1+membarrier control fork}
# The runtime's integration tests and the root crate's light tests: every cell, every tier.
LIGHT_TESTS="registration cpu fence fork unavailable smoke descriptors"

plan_test() { # CELL NAME [ARGS]
    printf '%s %s\t%s\t%s\t/t/%s/%s %s\n' "$1" "$2" "$TEST_DEADLINE" "$(cell_env "$1")" \
        "$(cell_dir "$1")" "$2" "${3:---test-threads=2}"
}
plan_acceptance() { # CELL GROUP
    acceptance_runs_in "$1" || return 0
    printf '%s acceptance [%s]\t%s\t%s\t/t/%s/acceptance --%s %s !churn !glibc.pthread\n' \
        "$1" "$2" "$ACCEPTANCE_DEADLINE" "$(cell_env "$1")" "$(cell_dir "$1")" "$ACCEPTANCE_SIZE" "$2"
}
# Whether the acceptance suite has its scenarios in CELL's build: on a target without an
# rseq! backend, or built without the instrumentation (VM_INSTRUMENTED=0), it is a stub
# that refuses every scenario (exit 2, "acceptance: cannot run ..."); its groups are then
# left out of the plan, and the log says so once per ABI.
declare -A ACCEPTANCE_RUNS=()
acceptance_runs_in() { # CELL
    local abi tests exe
    case $1 in
    musl) abi=musl tests=${MUSL_TESTS:-} ;;
    *)
        abi=$(glibc_key "$1")
        if [ "$abi" = "${abi#*:}" ]; then abi=gnu tests=$GNU_TESTS; else abi=${abi%%:*} tests=${COMPAT_TESTS[$abi]}; fi
        ;;
    esac
    if [ -z "${ACCEPTANCE_RUNS[$abi]:-}" ]; then
        exe=$(exe_of "$tests" acceptance)
        if [ -n "$exe" ] && ! grep -qa "acceptance: cannot run" "$exe"; then
            ACCEPTANCE_RUNS[$abi]=1
        else
            ACCEPTANCE_RUNS[$abi]=0
            log "$abi: the acceptance suite has no scenarios in this build (no rseq! backend, or not instrumented): its groups are left out" >&2
        fi
    fi
    [ "${ACCEPTANCE_RUNS[$abi]}" = 1 ]
}

# CPUs that come and go (tests/hotplug.rs): CPUs taken offline through sysfs while per-CPU
# slots and the allocator's caches hold items, sparse online lists, an affinity of one CPU,
# mm_cid with far more threads than CPUs. It is about the kernel, not the libc: once per
# boot, in the primary cell, after every other test (it offlines CPUs; it brings them back,
# and /init puts every CPU back as it was at boot after each test). RSEQ_DSL_TEST_HOTPLUG=1
# lets it offline CPUs (never on a host); the machine boots 2 of its 3 CPUs (boot: maxcpus=2),
# which the test checks.
plan_hotplug() {
    printf '%s hotplug\t%s\tRSEQ_DSL_TEST_HOTPLUG=1\t/t/%s/hotplug --expect-possible-above-online\n' \
        "$PRIMARY" "$TEST_DEADLINE" "$(cell_dir "$PRIMARY")"
}
plan_registration() { # CELL: who registered, as the runtime and (glibc cells) the kernel see it
    plan_test "$1" whereami " "
    case $1 in
    musl) ;;
    *) plan_test "$1" probe "$(cell_expects_glibc "$1" && echo glibc || echo none)" ;;
    esac
}
# The groups of LIST (`;`-separated) whose position is I modulo N.
groups_share() { # LIST I N
    local groups i
    IFS=';' read -r -a groups <<<"$1"
    for i in "${!groups[@]}"; do
        [ $((i % $3)) = "$2" ] && echo "${groups[$i]}"
    done
}

# A compat cell (armv7 on aarch64) is its ABI's only cell: it runs what the primary cell
# runs, the acceptance groups included.
is_compat_cell() { [[ " ${COMPAT_CELLS[*]} " == *" $1 "* ]]; }

# CI tier: every cell runs the light tests; the newest kernel (7.x, with rseq_debug=1: the
# strictest) runs the runtime's unit tests and the fork contract in the primary glibc cell
# (the newest glibc) and the own area's cell; the acceptance groups are spread over the kernels of the architecture, ALL in the
# primary cell over the kernels that keep mm_cid (half the scenarios need it), OWN in the
# own-area cells over all kernels: every scenario runs once per architecture.
# Full tier: every test in every cell (thread_churn in the tunable-off cell), ALL in the
# primary cell and OWN in every other cell, on every kernel.
# Both tiers: the CPU hot-plug test once per boot, last (plan_hotplug).
write_plan() { # SUITE INDEX -> stdout
    local suite=$1 index=$2 cell name group own_cell
    # The kernel built with the time-slice extension has a plan of its own (scripts/vm/slice.sh).
    if [ "$suite" = slice ]; then
        write_slice_plan
        return
    fi
    local mm_kernels=() k mm_index=-1 spec
    for spec in $KERNELS; do
        k=$(kernel_suite "$spec")
        if version_at_least "$(kernel_version "$k")" 6.3; then
            [ "$k" = "$suite" ] && mm_index=${#mm_kernels[@]}
            mm_kernels+=("$k")
        fi
    done
    local nkernels
    nkernels=$(wc -w <<<"$KERNELS")
    # No kernel with mm_cid (s390x and ppc64le: bookworm's 6.1 only): ALL runs over all of
    # them anyway, its mm_cid scenarios skipping themselves, so that every scenario still
    # runs once on the architecture.
    if [ ${#mm_kernels[@]} = 0 ]; then
        for spec in $KERNELS; do mm_kernels+=("$(kernel_suite "$spec")"); done
        mm_index=$index
    fi
    own_cell=${CELLS[0]}
    [ "$own_cell" = musl ] || own_cell=$PRIMARY-off
    if [ "$TIER" = full ]; then
        # The kernel's selftests: basic_test, and param_test briefly for each of its tests
        # (basic_percpu_ops_test's fixed 5000 x 200-thread runs take minutes under TCG)
        # (spinlock, list, buffer, buffer with barrier, memcpy, memcpy with barrier,
        # increment, membarrier), as run_param_test.sh lists them.
        printf 'selftests basic_test\t%s\t-\t/t/selftests/basic_test\n' "$TEST_DEADLINE"
        local t
        for t in s l b b+-M m m+-M i r; do
            printf 'selftests param_test [-T %s]\t%s\t-\t/t/selftests/param_test -T %s -r 1000 -t 4\n' \
                "${t/+/ }" "$TEST_DEADLINE" "${t/+/ }"
        done
    fi
    if [ "$TIER" = full ] || [ "$index" = $((nkernels - 1)) ]; then plan_sectiontest; fi
    for cell in "${CELLS[@]}"; do
        plan_registration "$cell"
        for name in $LIGHT_TESTS; do plan_test "$cell" "$name"; done
        if [ "$TIER" = full ]; then
            plan_test "$cell" rseq_dsl_runtime
            plan_test "$cell" fork_contract
            [ "$cell" = "$PRIMARY-off" ] && plan_test "$cell" thread_churn
            if [ "$cell" = "$PRIMARY" ] || [ "$cell" = "$own_cell" ]; then
                plan_test "$cell" global
                plan_test "$cell" workloads
            fi
            if [ "$cell" = "$PRIMARY" ] || is_compat_cell "$cell"; then
                while IFS= read -r group; do plan_acceptance "$cell" "$group"; done < <(groups_share "$ACCEPTANCE_ALL" 0 1)
            else
                while IFS= read -r group; do plan_acceptance "$cell" "$group"; done < <(groups_share "$ACCEPTANCE_OWN" 0 1)
            fi
            continue
        fi
        if { [ "$cell" = "$PRIMARY" ] || [ "$cell" = "$own_cell" ] || is_compat_cell "$cell"; } &&
            [ "$index" = $((nkernels - 1)) ]; then
            plan_test "$cell" rseq_dsl_runtime
            plan_test "$cell" fork_contract
        fi
        if { [ "$cell" = "$PRIMARY" ] || is_compat_cell "$cell"; } && [ "$mm_index" -ge 0 ]; then
            while IFS= read -r group; do plan_acceptance "$cell" "$group"; done < <(groups_share "$ACCEPTANCE_ALL" "$mm_index" "${#mm_kernels[@]}")
        fi
        if [ "$cell" = "$own_cell" ]; then
            while IFS= read -r group; do plan_acceptance "$cell" "$group"; done < <(groups_share "$ACCEPTANCE_OWN" "$index" "$nkernels")
        fi
    done
    plan_hotplug
}

# VM_REPEAT="N WORDS": instead of the test set, N runs of `acceptance --tiny WORDS` in the
# primary glibc cell and the own-area cell, to measure how often a rare hang happens.
write_repeat_plan() {
    local repeat words i cell
    read -r repeat words <<<"$VM_REPEAT"
    for ((i = 1; i <= repeat; i++)); do
        for cell in "$PRIMARY" "${CELLS[0]}"; do
            printf '%s %s #%d\t120\t%s\t/t/%s/acceptance --tiny %s\n' "$cell" "$words" "$i" \
                "$(cell_env "$cell")" "$(cell_dir "$cell")" "$words"
        done
    done
}

# ---------------------------------------------------------------------------------------
# 6. Boot each kernel with its plan; the markers on the serial console decide
# ---------------------------------------------------------------------------------------
vm_failed=0
symbolize_dump() { # CONSOLE
    local pairs=() name exe cell key tests
    if [ -n "$MUSL" ]; then
        while read -r name exe; do pairs+=("/t/musl/$name=$exe"); done <<<"$MUSL_TESTS"
    fi
    while read -r cell key; do
        tests=$GNU_TESTS
        [ "$key" = "${key#*:}" ] || tests=${COMPAT_TESTS[${key%%:*}]}
        pairs+=("/$cell/libc.so.6=$VM/glibc/${key/:/-}/libc.so.6")
        while read -r name exe; do pairs+=("/t/$cell/$name=$exe"); done <<<"$tests"
    done < <(glibc_cells)
    python3 "$ROOT/scripts/vm/symbolize.py" "$1" "${pairs[@]}" | head -400
}

boot() { # SPEC INDEX
    local suite console boot_start append deadline plan
    suite=$(kernel_suite "$1")
    plan=$STAGE/plan
    if [ -n "${VM_REPEAT:-}" ]; then write_repeat_plan; else write_plan "$suite" "$2"; fi >"$plan"
    python3 "$ROOT/scripts/vm/newc.py" "$VM/initrd.gz" "$STAGE"
    # maxcpus=2 of the 3 CPUs (scripts/vm.sh): possible and present 0-2, online 0-1.
    append="console=$QEMU_CONSOLE panic=-1 quiet maxcpus=2${KERNEL_ARGS:+ $KERNEL_ARGS}"
    # 7.x: the kernel's full checks of every descriptor and no system call inside a section,
    # SIGSEGV on a violation (off by default since the 6.19 rework).
    if version_at_least "$(kernel_version "$suite")" 6.19; then append+=" rseq_debug=1"; fi
    # The boot's deadline: every test's own plus booting, so that /init's deadlines fire
    # first, but at most VM_BOOT_TIMEOUT (30 minutes for the CI tier, whose boots take 1 to
    # 4 minutes here, 90 for the full tier): a kernel that never reaches /init, or an /init
    # that stops, fails the boot instead of stalling CI.
    local cap=${VM_BOOT_TIMEOUT:-$([ "$TIER" = full ] && echo 5400 || echo 1800)}
    deadline=$(awk -F'\t' -v cap="$cap" '{ s += $2 } END { s += 180; print (s < cap ? s : cap) }' "$plan")
    console=$VM/console-$suite.log
    log "booting $(cat "$VM/kernels/$suite/package") ($suite, '$append'): $(grep -c . "$plan") test runs, $(du -h "$VM/initrd.gz" | cut -f1) initramfs, deadline $deadline s"
    boot_start=$(date +%s)
    # qemu's exit status says nothing about the tests: it is ignored. A kernel panic ends
    # the boot at once: `panic=-1` reboots into -no-reboot's exit on most machines, but
    # loongarch64's `virt` stays up after a panic, which would hold the boot until its
    # deadline.
    timeout "$deadline" "$QEMU" "${QEMU_ARGS[@]}" -nographic -nic none -no-reboot \
        -kernel "$(kernel_file "$suite")" -initrd "$VM/initrd.gz" -append "$append" \
        </dev/null >"$console" 2>&1 &
    local qemu_pid=$!
    while kill -0 "$qemu_pid" 2>/dev/null; do
        if grep -aqs "Kernel panic - not syncing" "$console"; then
            sleep 5 # the panic's own report
            kill -TERM "$qemu_pid" 2>/dev/null || true
            log "the kernel panicked: qemu stopped"
            break
        fi
        sleep 2
    done
    wait "$qemu_pid" || true
    tr -d '\r' <"$console" >"$console.txt"
    # The test harnesses' result lines and the markers; the full console log stays in $VM.
    grep -E "RSEQ-VM:|RSEQ-PROBE:|^test result|^ +main: |^(counter|lock|stack|buffer|records|control|mm_cid|hotplug:|skipped: hotplug)|aborts" \
        "$console.txt" | grep -v "RSEQ-VM: \(DUMP\|PC\) " || true
    if grep -q "^RSEQ-VM: PC " "$console.txt"; then
        log "a test overran its deadline: its dump, symbolised (console: $console.txt)"
        grep -E "RSEQ-VM: DUMP [0-9]+/[0-9]+ (comm|wchan|syscall|kernel)" "$console.txt" | head -400
        symbolize_dump "$console.txt"
        log "the kernel's task dump (sysrq t)"
        sed -n '/sysrq: Show State/,/RSEQ-VM: DUMP end/p' "$console.txt" | head -800
    fi
    if [ "$(($(date +%s) - boot_start))" -ge "$deadline" ]; then
        log "the boot overran its deadline ($deadline s): killed"
    fi
    # The time-slice extension's boot: its facts, slice_test's counts and verdict (slice.sh).
    [ "$suite" != slice ] || check_slice_console "$console.txt"
    if grep -q "^RSEQ-VM: END" "$console.txt" &&
        grep -q "^RSEQ-VM: SUMMARY passed=[1-9][0-9]* failed=0$" "$console.txt" &&
        ! grep -q "^RSEQ-VM: FAIL" "$console.txt"; then
        log "PASS on $suite in $(($(date +%s) - boot_start)) s"
        compare_sectiontest "$console.txt"
    else
        grep -v "RSEQ-VM: \(DUMP\|PC\) " "$console.txt" | grep -B60 "^RSEQ-VM: FAIL" | tail -150 ||
            tail -60 "$console.txt"
        log "FAIL on $suite in $(($(date +%s) - boot_start)) s (full console: $console.txt)"
        vm_failed=1
    fi
}

boot_all() {
    rm -f "$VM"/console-*.log "$VM"/console-*.log.txt "$VM"/console-*.sectiontest.txt
    local spec index=0
    for spec in $KERNELS; do
        boot "$spec" "$index"
        index=$((index + 1))
    done
}

# ---------------------------------------------------------------------------------------
# 7. The differential test of rseq! (sectiontest/, issue 13) on the emulated CPU, where
#    SECTIONTEST=1 (aarch64): random sections from a fresh seed (printed; VM_SECTIONS_SEED
#    repeats one), generated and cross-built on the host (a static musl binary each for
#    the plain and the signal-storm runs), run in the VM with `--digest 1` (a hash of the
#    memory instead of its bytes), their output compared with the reference interpreter
#    on the host (`--compare`).
# ---------------------------------------------------------------------------------------
SECTIONTEST_ARGS=()
build_sectiontest() {
    [ "${SECTIONTEST:-0}" = 1 ] || return 0
    local seed out var
    seed=${VM_SECTIONS_SEED:-$(od -An -N6 -tx8 /dev/urandom | tr -d ' \n')}
    SECTIONTEST_ARGS=(--seed "$seed" --sections "${VM_SECTIONS:-100}" --states "${VM_SECTION_STATES:-10}"
        --storm-sections "${VM_STORM_SECTIONS:-30}" --storm-states "${VM_STORM_STATES:-5}" --storm-repeat 2)
    log "sectiontest: building ${SECTIONTEST_ARGS[*]} for $MUSL"
    # The generated crate lies outside the repository: its linker comes from here.
    var=CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$MUSL")_LINKER
    out=$(cd "$ROOT" && env "$var=$CROSS-gcc" nice -n 19 "$ROOT/scripts/deadline.sh" 900 \
        cargo run --quiet --release -p rseq-sectiontest -- "${SECTIONTEST_ARGS[@]}" \
        --target "$MUSL" --dir "$VM/sectiontest") || die "sectiontest: the build failed: $out"
    head -1 <<<"$out" # the seed and sizes; the build-only tally after it says nothing
    mkdir -p "$STAGE/t/sectiontest"
    "$CROSS-strip" -o "$STAGE/t/sectiontest/plain" "$(sed -n 's/^built //p' <<<"$out" | sed -n 1p)"
    "$CROSS-strip" -o "$STAGE/t/sectiontest/storm" "$(sed -n 's/^built //p' <<<"$out" | sed -n 2p)"
}
# Plan lines, as the harness runs the binaries natively (seed, states, repeat), with digests.
plan_sectiontest() {
    [ "${SECTIONTEST:-0}" = 1 ] || return 0
    local seed=${SECTIONTEST_ARGS[1]}
    printf 'sectiontest plain\t%s\t-\t/t/sectiontest/plain --seed %s --states %s --repeat 1 --digest 1\n' \
        "$TEST_DEADLINE" "$seed" "${SECTIONTEST_ARGS[5]}"
    printf 'sectiontest storm\t%s\t-\t/t/sectiontest/storm --seed %s --states %s --repeat 2 --digest 1\n' \
        "$TEST_DEADLINE" "$seed" "${SECTIONTEST_ARGS[9]}"
}
# The host's verdict on the VM's output: each run's outcome, value and memory digest must
# be the interpreter's, and the storm must have caused aborts.
compare_sectiontest() { # CONSOLE
    [ "${SECTIONTEST:-0}" = 1 ] || return 0
    grep -q "^RSEQ-VM: START sectiontest plain" "$1" || return 0
    local which files=()
    for which in plain storm; do
        sed -n "/^RSEQ-VM: START sectiontest $which\$/,/^RSEQ-VM: \(PASS\|FAIL\) sectiontest $which /p" "$1" \
            >"$VM/sectiontest/$which.out"
        files+=(--compare "$VM/sectiontest/$which.out")
    done
    # The verdict beside the console (summary.py reads it for the README row).
    local verdict=${1%.log.txt}.sectiontest.txt
    if (cd "$ROOT" && nice -n 19 "$ROOT/scripts/deadline.sh" 600 \
        cargo run --quiet --release -p rseq-sectiontest -- "${SECTIONTEST_ARGS[@]}" "${files[@]}") |
        tee "$verdict" && [ "${PIPESTATUS[0]}" = 0 ]; then
        log "sectiontest: the VM's runs agree with the interpreter"
    else
        log "sectiontest: FAIL (outputs in $VM/sectiontest)"
        vm_failed=1
    fi
}
