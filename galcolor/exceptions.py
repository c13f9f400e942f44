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

import contextlib
import sys
import warnings
from pathlib import Path
from typing import Iterator

__all__ = [
    "GalcolorError",
    "InputError",
    "FileFormatError",
    "DownloadError",
    "GalcolorWarning",
    "warn",
    "warnings_named",
]


class GalcolorError(Exception):
    """Base class of every error raised by galcolor."""


class InputError(GalcolorError, ValueError):
    """The content of an input is unusable: wrong shape, no finite data, ..."""


class FileFormatError(GalcolorError, OSError):
    """A file cannot be read: missing, empty, truncated, corrupt or unknown format."""


class DownloadError(GalcolorError, OSError):
    """A dataset download failed: missing credentials, no network, bad archive."""


class GalcolorWarning(UserWarning):
    """Something in the input was suspicious and galcolor worked around it."""


_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def warn(message: str, category: type[Warning] = GalcolorWarning) -> None:
    """Issue a warning attributed to the first caller outside galcolor.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("suspicious header")
    >>> caught[0].category.__name__, str(caught[0].message)
    ('GalcolorWarning', 'suspicious header')
    """
    level = 1
    frame = sys._getframe(1)
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level + 1)


@contextlib.contextmanager
def warnings_named(name: str) -> Iterator[None]:
    """Warnings issued inside, issued again on the way out with ``name`` in front (once each, same category).

    A library's warning about a file (astropy's "File may have been
    truncated", a non-standard FITS card, ...) rarely says which file; in a
    batch over thousands it must. Warnings that already name it pass as
    they are; the re-issued ones reach the caller's filters.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     with warnings_named("a.fits"):
    ...         warnings.warn("card garbled", UserWarning)
    >>> str(caught[0].message)
    'a.fits: card garbled'
    """
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        seen = set()
        for warning in caught:
            text = str(warning.message)
            text = text if name in text else f"{name}: {text}"
            if (warning.category, text) not in seen:
                seen.add((warning.category, text))
                warnings.warn(text, warning.category, stacklevel=3)
