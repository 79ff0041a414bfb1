#!/usr/bin/env python3
"""Writes a gzip-compressed newc (SVR4 cpio) archive for a Linux initramfs.

Usage: newc.py OUT.gz ROOT_DIR
Every file, directory and symlink under ROOT_DIR goes in with root ownership, plus the
/dev/console character device (5, 1) that the kernel opens for /init: no root privileges,
mknod or cpio binary needed.
"""
import gzip
import os
import stat
import sys


def entry(out, ino, name, mode, data=b"", nlink=1, rdev=(0, 0), mtime=0):
    name_bytes = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, nlink, mtime, len(data), 0, 0, rdev[0], rdev[1], len(name_bytes), 0]
    out.write(b"070701" + b"".join(b"%08X" % f for f in fields))
    out.write(name_bytes)
    out.write(b"\0" * (-(110 + len(name_bytes)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def main():
    target, root = sys.argv[1], sys.argv[2]
    ino = 1
    with gzip.open(target, "wb", compresslevel=1) as out:
        seen_dev = False
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root)
            for name in [None] + sorted(filenames) + sorted(d for d in dirnames if os.path.islink(os.path.join(dirpath, d))):
                path = dirpath if name is None else os.path.join(dirpath, name)
                rel = rel_dir if name is None else os.path.normpath(os.path.join(rel_dir, name))
                if rel == ".":
                    continue
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    entry(out, ino, rel, stat.S_IFLNK | 0o777, os.readlink(path).encode())
                elif stat.S_ISDIR(st.st_mode):
                    entry(out, ino, rel, stat.S_IFDIR | 0o755, nlink=2)
                    seen_dev |= rel == "dev"
                else:
                    with open(path, "rb") as f:
                        entry(out, ino, rel, stat.S_IFREG | (st.st_mode & 0o777), f.read())
                ino += 1
        if not seen_dev:
            entry(out, ino, "dev", stat.S_IFDIR | 0o755, nlink=2)
            ino += 1
        entry(out, ino, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
        entry(out, ino + 1, "TRAILER!!!", 0)


if __name__ == "__main__":
    main()
