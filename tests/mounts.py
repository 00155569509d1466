"""Real mounts for the tests of drives that come and go: a loop-mounted ext4 image (a USB drive
with a UUID and a label), tmpfs, bind mounts, and a FUSE mount whose server never answers (a
network share whose server is gone). Each test that needs one is skipped, with the reason,
where this machine does not let it mount."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60, check=False)


@functools.cache
def why_not() -> str | None:
    """Why this machine cannot mount here (None: it can): tried once, with a tmpfs."""
    if os.name != "posix" or not os.path.exists("/proc/self/mountinfo"):
        return "mounts are tried on Linux only"
    if os.geteuid() != 0:
        return "mounting needs root (the tests run as a user)"
    if shutil.which("mount") is None:
        return "no mount command"
    with tempfile.TemporaryDirectory() as folder:
        tried = _run("mount", "-t", "tmpfs", "-o", "size=1m", "snapseek-test", folder)
        if tried.returncode != 0:
            return f"mount is not allowed here: {tried.stderr.strip()}"
        _run("umount", folder)
    return None


def need_mounts() -> None:
    reason = why_not()
    if reason:
        pytest.skip(reason)


def umount(path: Path) -> None:
    if _run("umount", str(path)).returncode != 0:
        _run("umount", "-l", str(path))  # busy: detached now, gone when let go


def is_mounted(path: Path) -> bool:
    return any(line.split(" ")[4] == str(path) for line in open("/proc/self/mountinfo"))


def mount_tmpfs(at: Path) -> None:
    at.mkdir(parents=True, exist_ok=True)
    done = _run("mount", "-t", "tmpfs", "-o", "size=16m", "snapseek-test", str(at))
    assert done.returncode == 0, done.stderr


def bind(source: Path, at: Path) -> None:
    at.mkdir(parents=True, exist_ok=True)
    done = _run("mount", "--bind", str(source), str(at))
    assert done.returncode == 0, done.stderr


def make_drive(image: Path, label: str, size_mb: int = 16) -> str:
    """An ext4 filesystem in a file, as a USB drive holds one; returns its UUID."""
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("needs mkfs.ext4 (Debian: e2fsprogs)")
    with open(image, "wb") as f:
        f.truncate(size_mb << 20)
    done = _run("mkfs.ext4", "-q", "-F", "-L", label, str(image))
    assert done.returncode == 0, done.stderr
    return _run("blkid", "-c", "/dev/null", "-o", "value", "-s", "UUID", str(image)).stdout.strip()


def plug(image: Path, at: Path) -> None:
    """The drive plugged in and mounted at `at` (a loop device)."""
    at.mkdir(parents=True, exist_ok=True)
    done = _run("mount", "-o", "loop", str(image), str(at))
    if done.returncode != 0 and "loop" in done.stderr:
        pytest.skip(f"no loop device to mount a drive image: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr


@contextlib.contextmanager
def mounted(*points: Path):
    """Whatever is mounted at these points by the end is unmounted, the test passed or not."""
    try:
        yield
    finally:
        for point in reversed(points):
            while point.exists() and is_mounted(point):
                umount(point)


@contextlib.contextmanager
def not_answering(at: Path):
    """A FUSE mount at `at` whose server never answers: every look at it waits, as at a
    network share whose server is gone. On leaving, the connection ends (waiting calls then
    fail at once) and it is unmounted."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse to make a mount that does not answer")
    at.mkdir(parents=True, exist_ok=True)
    fd = os.open("/dev/fuse", os.O_RDWR)
    try:
        done = subprocess.run(
            ["mount", "-t", "fuse", "-o", f"fd={fd},rootmode=40000,user_id=0,group_id=0",
             "snapseek-nas", str(at)], pass_fds=(fd,), capture_output=True, text=True,
            timeout=30, check=False)
        if done.returncode != 0:
            pytest.skip(f"a FUSE mount is not allowed here: {done.stderr.strip()}")
        yield at
    finally:
        os.close(fd)
        umount(at)
