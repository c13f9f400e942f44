"""Exceptions and warnings raised by galcolor.

Every error galcolor raises on bad input is a :class:`GalcolorError`, and also
the built-in exception a caller would naturally catch: content problems
(shapes, NaN-only data, unknown bands) are :class:`ValueError`, problems with a
file itself (missing, unreadable, truncated, unknown format) are
:class:`OSError`. Messages always name the file, or ``"array input"``.

Examples
--------
>>> import numpy as np
>>> import galcolor
>>> try:
...     galcolor.load(np.zeros(5))
... except galcolor.InputError as error:
...     print(error)
array input: expected a 2-D image (H, W) or an RGB image (H, W, 3), got shape (5,)
"""

from __future__ import annotations

__all__ = [
    "GalcolorError",
    "InputError",
    "FileFormatError",
    "GalcolorWarning",
]


class GalcolorError(Exception):
    """Base class of every error raised by galcolor."""


class InputError(GalcolorError, ValueError):
    """The content of an input is unusable: wrong shape, no finite data, ..."""


class FileFormatError(GalcolorError, OSError):
    """A file cannot be read: missing, empty, truncated, corrupt or unknown format."""


class GalcolorWarning(UserWarning):
    """Something in the input was suspicious and galcolor worked around it."""
