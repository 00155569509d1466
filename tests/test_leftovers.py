"""Temporary files a writer killed mid-write left in the library home (a half-written index
file, a thumbnail) go when the library is next opened, never one another process is still
writing."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from core.library import Library

AN_HOUR_AGO = time.time() - 3600


def leftovers(home):
    """What a killed writer leaves: the index's temporary file (written by a forked child,
    killed with its parent) and a thumbnail's, named as core/files.py names them."""
    (home / "thumbs").mkdir(parents=True, exist_ok=True)
    index = home / "index-0123456789abcdef.hnsw.k3j_h1g0.tmp"
    thumb = home / "thumbs" / "12.jpg.x9y8z7w6.tmp"
    for path in (index, thumb):
        path.write_bytes(b"\0" * 4096)
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))
    return [index, thumb]


def test_a_killed_writers_temporary_files_go_when_the_library_opens(tmp_path):
    home = tmp_path / "home"
    Library(home).close()
    left = leftovers(home)
    fresh = home / "thumbs" / "13.jpg.a1b2c3d4.tmp"  # being written by this process: too new
    fresh.write_bytes(b"\0")
    theirs = home / "notes.tmp"  # not one of Snapseek's names
    theirs.write_bytes(b"mine")
    os.utime(theirs, (AN_HOUR_AGO, AN_HOUR_AGO))
    Library(home).close()
    assert [p for p in left if p.exists()] == []
    assert fresh.exists() and theirs.exists()
    assert (home / "catalog.db").exists()


HOLD_THE_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("holding", flush=True)
time.sleep(60)
"""


def test_none_goes_while_another_process_holds_the_writer_lock(tmp_path):
    """The writer lock is held while such files are written (a forked index writer holds it
    until it ends, even after its parent was killed): they may be live then."""
    home = tmp_path / "home"
    Library(home).close()
    left = leftovers(home)
    writer = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(home / "writer.lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "holding\n"
        Library(home).close()
        assert all(p.exists() for p in left)
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    Library(home).close()
    assert [p for p in left if p.exists()] == []
