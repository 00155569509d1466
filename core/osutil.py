"""What the core asks of the operating system and the CPU: memory back, a lower priority, bf16."""

from __future__ import annotations

import functools
import os
import threading


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, found once (find_library runs ldconfig); None elsewhere."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        return None


def give_back_memory() -> None:
    """Return freed heap to the system (glibc keeps it for reuse otherwise: after the torch
    model goes, about 0.4 GB with the default model). Elsewhere, nothing to do."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def lower_priority() -> None:
    """Run this thread's background work at a lower OS priority so the desktop stays
    responsive (Linux gives each thread its own nice value)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


def native_bf16() -> bool | None:
    """Whether the CPU computes bf16 natively (AVX512-BF16 or AMX), where elsewhere it is
    emulated and slower than fp32: from /proc/cpuinfo; None where there is none (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return None
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split()))


MADV_PAGEOUT = 21  # Linux 5.4 and later


@functools.cache
def _madvise():
    """libc's madvise where this system has it and says which pages a process maps (Linux)."""
    import ctypes

    if not os.path.exists("/proc/self/maps"):
        return None
    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError, TypeError):  # no C library to ask
        return None
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return madvise


def can_drop_mapped_pages() -> bool:
    return _madvise() is not None


def drop_mapped_pages(folders) -> int:
    """Hand back the resident pages of this process's read-only mappings of files under
    `folders` (the bytes those mappings span): for OpenVINO, which keeps a tower's files mapped
    after it has made its own copy of the weights. MADV_PAGEOUT reclaims clean file pages as
    the kernel does when memory runs short (a page read again comes back from the file), and
    never discards anonymous memory: a range unmapped and reused between reading the map and
    the call loses nothing (a kernel before 5.4 refuses it, and nothing is dropped)."""
    madvise = _madvise()
    roots = tuple(os.path.join(os.path.realpath(f), "") for f in folders if f)
    if madvise is None or not roots:
        return 0
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return 0
    dropped = 0
    for line in lines:
        parts = line.split(maxsplit=5)
        if len(parts) < 6 or "w" in parts[1] or not parts[5].rstrip("\n").startswith(roots):
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        if madvise(start, end - start, MADV_PAGEOUT) == 0:
            dropped += end - start
    return dropped
