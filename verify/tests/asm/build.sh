#!/usr/bin/env bash
# Regenerates the assembled fixtures of tests/assembled.rs with Debian's cross binutils
# (binutils-arm-linux-gnueabihf, -s390x-linux-gnu, -powerpc64le-linux-gnu,
# -x86-64-linux-gnu): each machine's section.s, which the real assembler and linker turn
# into a shared object (RELATIVE relocations: REL on arm and i686, RELA elsewhere) and a
# static executable. Each has two descriptors in __rseq_cs_ptr_array: the first valid, the
# second's abort handler preceded by 0x12345678 instead of the signature. The files are
# committed so that the test needs no cross binutils. (No loongarch64 binutils in the
# archive here: tests/rules.rs's written fixtures cover it.)
#
#     verify/tests/asm/build.sh
set -euo pipefail
cd "$(dirname "$0")"
# 64-bit fields: `.quad a, b`, or a 32-bit file's `.long a, 0, b, 0`.
f() { # VALUES quad|pair
    if [ "$2" = quad ]; then echo "  .quad $1"; else echo "  .long ${1//, /, 0, }, 0"; fi
}
# section.s for a signature.
template() { # SIGNATURE quad|pair
    cat <<ASM
  .text
  .globl f
  .type f, %function
f:
1: nop
2: nop
  .balign 4
  .long $1
3: nop
7: nop
8: nop
  .balign 4
  .long 0x12345678
4: nop
  .size f, .-f
  .section __rseq_cs, "aw"
  .balign 32
5: .long 0, 0
$(f "1b, (2b - 1b), 3b" "$2")
  .balign 32
6: .long 0, 0
$(f "7b, (8b - 7b), 4b" "$2")
  .section __rseq_cs_ptr_array, "aw"
  .balign 8
$(f "5b, 6b" "$2")
ASM
}
build() { # NAME TRIPLE SIGNATURE FIELDS [AS and LD options]
    local name=$1 triple=$2 sig=$3 fields=$4 asopt=${5:-} ldopt=${6:-}
    template "$sig" "$fields" >"$name.s"
    # shellcheck disable=SC2086
    "$triple-as" $asopt -o "$name.o" "$name.s"
    # shellcheck disable=SC2086
    "$triple-ld" $ldopt -z max-page-size=0x1000 -z noseparate-code -s -shared -o "$name.so" "$name.o"
    # shellcheck disable=SC2086
    "$triple-ld" $ldopt -z max-page-size=0x1000 -z noseparate-code -s -static -e f -o "$name.exe" "$name.o"
    rm -f "$name.o"
}
build i686 x86_64-linux-gnu 0x53053053 pair --32 "-m elf_i386"
build arm arm-linux-gnueabihf 0xe7f5def3 pair
build s390x s390x-linux-gnu 0xb2ff0fff quad
build ppc64le powerpc64le-linux-gnu 0x0fe5000b quad
