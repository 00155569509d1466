"""Strip the symbols from the libraries of a built bundle where that leaves them loadable.

Some wheels ship their libraries with symbol tables and debug sections nothing at run time reads
(libpython's, hnswlib's, tokenizers', x265's: about 80 MB of the slim bundle). PyInstaller's
own `strip` option strips every library, and breaks those that auditwheel rewrote with patchelf
(numpy's OpenBLAS then fails to load: "ELF load command address/offset not page-aligned"). Here
each library is stripped into a copy first, and the copy replaces it only when every loadable
segment is still aligned as the dynamic loader requires.

    python strip_safely.py DIST_FOLDER
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LOAD = re.compile(r"^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+.{3}\s+"
                  r"(0x[0-9a-f]+)\s*$", re.I)


PAGE = max(4096, os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096)


def loadable(path: Path) -> bool:
    """Every LOAD segment passes the dynamic loader's two checks (glibc's dl-load): its address
    and file offset differ by a multiple of the page size ("not page-aligned") and of its own
    alignment ("not properly aligned")."""
    out = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True)
    if out.returncode:
        return False
    segments = [m.groups() for m in map(LOAD.match, out.stdout.splitlines()) if m]
    for off, addr, align in segments:
        gap, align = int(addr, 16) - int(off, 16), int(align, 16)
        if gap % PAGE or (align > 1 and gap % align):
            return False
    return bool(segments)


def has_symbols(path: Path) -> bool:
    out = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True)
    return out.returncode == 0 and (".symtab" in out.stdout or ".debug_" in out.stdout)


def strip_safely(dist: Path) -> tuple[int, list[str]]:
    """(bytes saved, libraries left as they were because stripping broke them)."""
    saved, kept = 0, []
    # beside the bundle: a temporary folder elsewhere may be another file system (a tmpfs)
    with tempfile.TemporaryDirectory(prefix="strip-", dir=dist) as tmp:
        for path in sorted(dist.rglob("*.so*")):
            if path.is_symlink() or not path.is_file() or not has_symbols(path):
                continue
            copy = Path(tmp) / "lib"
            shutil.copyfile(path, copy)
            done = subprocess.run(["strip", "--strip-unneeded", str(copy)], capture_output=True)
            if done.returncode or not loadable(copy) or copy.stat().st_size >= path.stat().st_size:
                kept.append(str(path.relative_to(dist)))
                continue
            saved += path.stat().st_size - copy.stat().st_size
            shutil.copymode(path, copy)
            os.replace(copy, path)
    return saved, kept


def main() -> int:
    dist = Path(sys.argv[1])
    missing = [tool for tool in ("strip", "readelf") if shutil.which(tool) is None]
    if missing:  # binutils: the bundle stays as PyInstaller made it, only larger
        print(f"not stripped: {' and '.join(missing)} missing (Debian: binutils)")
        return 0
    saved, kept = strip_safely(dist)
    print(f"stripped {saved / 1e6:.0f} MB of symbols; left as they were: {', '.join(kept) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
