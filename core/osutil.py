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
