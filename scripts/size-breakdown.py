#!/usr/bin/env python3
"""Which crates the bytes of an unstripped libtailor.so belong to.

Reads the symbol table (`nm -S -C`) of a library built with symbols, e.g. the mobile build with
`-C strip=none` (scripts/README.md "Library size"), and sums the sizes of code and read-only data
symbols per crate. A generic function counts for the first crate named in its symbol other than
core/alloc/std (`core::ptr::drop_in_place<tract_core::...>` is tract_core's), so the table says
which dependency made the code exist. Symbols without a Rust path are SQLite's (the only C code
linked in). Unwind tables (.eh_frame, .gcc_except_table) and vtables (.data.rel.ro) are not
symbols: the section table printed first shows them.

Usage: scripts/size-breakdown.py LIB [TOP]   (TOP: how many crates to list, default 30)
"""
import collections
import re
import subprocess
import sys

STD = {"core", "alloc", "std"}
PATH = re.compile(r"(?:^|[<&\s(\[,*])([a-z_][a-z0-9_]*)::")


def crate_of(name: str) -> str:
    if name.startswith(("uniffi_tailor_", "ffi_tailor_", "UNIFFI_META_")):
        return "tailor (uniffi scaffolding)"
    crates = PATH.findall(name)
    if not crates:
        return "SQLite (C)" if "::" not in name else "other"
    for c in crates:
        if c not in STD:
            return c
    return crates[0]


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    lib, top = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30
    sections = subprocess.run(["size", "-A", lib], capture_output=True, text=True, check=True)
    print(sections.stdout.strip())
    symbols = subprocess.run(
        ["nm", "-S", "--size-sort", "-C", lib], capture_output=True, text=True, check=True
    ).stdout
    sizes: collections.Counter = collections.Counter()
    for line in symbols.splitlines():
        parts = line.split(None, 3)
        # Code (t), read-only data (r), data (d); bss takes no file space.
        if len(parts) < 4 or parts[2].lower() not in ("t", "r", "d", "w"):
            continue
        sizes[crate_of(parts[3])] += int(parts[1], 16)
    total = sum(sizes.values())
    print(f"\nsymbols: {total / 1e6:.2f} MB")
    print("| crate | MB |\n| --- | ---: |")
    for crate, size in sizes.most_common(top):
        print(f"| {crate} | {size / 1e6:.2f} |")
    rest = total - sum(s for _, s in sizes.most_common(top))
    print(f"| (the other {max(len(sizes) - top, 0)}) | {rest / 1e6:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
