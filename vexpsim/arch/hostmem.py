"""Host allocator setting for the vectorised simulation paths (host speed only; no effect on
any simulated result).

The vectorised FREP path (fastfrep) makes NumPy temporaries of a few hundred KB to a few MB.
glibc serves blocks above its mmap threshold (128 KB at start) with fresh mmap'd pages and
returns them on free, so every such temporary page-faults its memory in again: measured on
this machine, filling a fresh 1 MB array took ~0.85 ms against ~0.05 ms for reused memory,
and `vexpsim bench --program frep_ssr_spmd_rand` spent about half its time there. Raising
the mmap threshold and the trim threshold keeps freed blocks in the heap for reuse. Off with
VEXPSIM_NO_MALLOPT=1; a no-op where the C library has no mallopt (not glibc).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["tune_allocator"]

# glibc malloc.h parameter numbers
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20  # glibc's maximum on 64-bit hosts (larger values are refused)
_TRIM_THRESHOLD = 256 << 20  # free heap kept for reuse before it is returned to the system

_done = False


def tune_allocator() -> bool:
    """Apply the setting once per process; True if mallopt accepted it."""
    global _done
    if _done:
        return False
    _done = True
    if os.environ.get("VEXPSIM_NO_MALLOPT"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
