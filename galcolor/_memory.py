"""Keep the resident memory of long batch runs flat (glibc's heap growth)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["limit_heap_growth"]

#: mallopt parameter number of M_MMAP_THRESHOLD in glibc's malloc.h.
_M_MMAP_THRESHOLD = -3
#: Arrays above 1 MB get their own mmap (a 424 x 424 float64 image is 1.4 MB).
#: glibc starts at 128 kB, where every 128-256 px float64 temporary is an
#: mmap of its own and page-faults as it is first written: the survey
#: pipeline spent ~15 % of its time there (128 px cutouts in one process:
#: 122 ms each at 128 kB, 105 ms at 1 MB); ``galcolor evaluate`` on 160
#: SDSS val images peaks at 762 MB with 1 MB against 718 MB with 128 kB.
_THRESHOLD = 1024 * 1024


def limit_heap_growth() -> bool:
    """Fix glibc's mmap threshold so freed image-sized arrays go back to the OS.

    glibc raises the threshold (up to 32 MB) each time a large block is
    freed, after which image-sized numpy temporaries come from the heap and
    fragment it: ``galcolor evaluate`` on 500 SDSS images grew to 14 GB
    resident, and 48 images peaked at 2.1 GB instead of 0.7 GB. Setting the
    threshold explicitly switches that adjustment off; it is set at 1 MB,
    above the size of a cutout's temporaries and below that of a full
    frame's. A no-op (returning False) on anything but glibc.

    Examples
    --------
    >>> from galcolor._memory import limit_heap_growth
    >>> isinstance(limit_heap_growth(), bool)
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD))
