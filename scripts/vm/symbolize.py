#!/usr/bin/env python3
"""Symbolises the user-space return addresses that the VM's /init printed for a hung test.

Usage: symbolize.py CONSOLE.txt GUEST=HOST...

/init (scripts/vm/init.c) prints, for each thread of a test it is about to kill,
"RSEQ-VM: PC <pid> <tid> <frame> <address>" lines and the process's file-backed mappings
("RSEQ-VM: DUMP MAP <pid> <start>-<end> <perms> <offset> <dev> <inode> <path>"). Each
GUEST=HOST pair names the unstripped host file of a guest path (/t/gnu/acceptance=...).
An address becomes a file offset through its mapping, then a link-time address through the
file's program headers, and llvm-symbolizer names the function and line. A thread waiting
in futex(2) ("RSEQ-VM: DUMP <pid>/<tid> syscall: <nr> <uaddr> ...") gets the variable its
futex word lies in named too: for a hang on a lock, that names the lock.
"""
import re
import struct
import subprocess
import sys


def load_segments(path):
    """(offset, vaddr, memsz) of each PT_LOAD of an ELF64 little-endian file (memsz: .bss
    lies past the file's bytes of its segment, and locks often live there)."""
    with open(path, "rb") as f:
        header = f.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:
            return []
        phoff, = struct.unpack_from("<Q", header, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    segments = []
    for i in range(phnum):
        p_type, _flags, offset, vaddr, _paddr, _filesz, memsz = struct.unpack_from(
            "<IIQQQQQ", table, i * phentsize)
        if p_type == 1:
            segments.append((offset, vaddr, memsz))
    return segments


def link_address(segments, file_offset):
    for offset, vaddr, memsz in segments:
        if offset <= file_offset < offset + memsz:
            return vaddr + (file_offset - offset)
    return None


def main():
    console, pairs = sys.argv[1], sys.argv[2:]
    hosts = dict(pair.split("=", 1) for pair in pairs)
    maps, pcs = {}, []
    map_line = re.compile(r"RSEQ-VM: DUMP MAP (\d+) ([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(/\S+)")
    pc_line = re.compile(r"RSEQ-VM: PC (\d+) (\d+) (\d+) 0x([0-9a-f]+)")
    futex_line = re.compile(r"RSEQ-VM: DUMP (\d+)/(\d+) syscall: (98|202) 0x([0-9a-f]+)")
    futexes = []
    with open(console, errors="replace") as f:
        for line in f:
            if m := map_line.search(line):
                pid, start, end, offset, path = m.groups()
                maps.setdefault(pid, []).append((int(start, 16), int(end, 16), int(offset, 16), path))
            elif m := pc_line.search(line):
                pcs.append((m.group(1), m.group(2), int(m.group(3)), int(m.group(4), 16)))
            elif m := futex_line.search(line):
                # futex is syscall 98 on aarch64 and 202 on x86_64 (and nothing else there).
                futexes.append((m.group(1), m.group(2), int(m.group(4), 16)))
    segments = {}

    def resolve(pid, address, data):
        """The function and line (code) or the variable (data) at a run-time address."""
        for start, end, offset, path in maps.get(pid, []):
            if not start <= address < end:
                continue
            host = hosts.get(path)
            where = f"{path}+{address - start + offset:#x}"
            if not host:
                return where
            if host not in segments:
                segments[host] = load_segments(host)
            linked = link_address(segments[host], address - start + offset)
            if linked is None:
                return where
            query = f"DATA {linked:#x}" if data else f"{linked:#x}"
            out = subprocess.run(
                ["llvm-symbolizer", "--obj", host, "--demangle", "--inlining", query],
                capture_output=True, text=True).stdout.split("\n")
            if data:
                return f"{out[0]} ({where})" if out and out[0] not in ("", "??") else where
            frames = [f"{out[i]} at {out[i + 1]}" for i in range(0, len(out) - 1, 2) if out[i]]
            return " <- ".join(frames) or where
        return "?"

    for pid, tid, frame, pc in pcs:
        print(f"{pid}/{tid} #{frame:<2} {pc:#x} {resolve(pid, pc, data=False)}")
    for pid, tid, uaddr in futexes:
        print(f"{pid}/{tid} waits on the futex word {uaddr:#x}: {resolve(pid, uaddr, data=True)}")


if __name__ == "__main__":
    main()
