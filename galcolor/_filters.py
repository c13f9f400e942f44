"""Image filters that scipy.ndimage has, made faster where galcolor calls them on every image."""

from __future__ import annotations

import numpy as np

from .exceptions import InputError

__all__ = ["median3x3"]

# scipy.ndimage's boundary modes and numpy.pad's names for the same extension
_PAD_MODES = {"nearest": "edge", "reflect": "symmetric", "mirror": "reflect", "wrap": "wrap"}


def _median3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))


def median3x3(image: np.ndarray, mode: str = "reflect") -> np.ndarray:
    """``scipy.ndimage.median_filter(image, size=3, mode=mode)``, equal to it element by element, faster.

    scipy selects the median of each 3 x 3 window one pixel at a time (about
    8 ms for a 256 x 256 image). Here whole-array minima and maxima do it:
    each column of three is sorted, and the median of the nine is the median
    of three numbers: the largest of the three column minima, the median of
    the column medians and the smallest of the column maxima (the exact
    median of nine by sorted columns; no arithmetic, so no rounding).
    About twice as fast; the same values, ties and infinities included
    (NaN, for which scipy's order is undefined, is not supported).

    Parameters
    ----------
    image : (H, W) array
        Finite values (or infinities).
    mode : {"reflect", "nearest", "mirror", "wrap"}
        How the image extends past its edges, as in :mod:`scipy.ndimage`.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor._filters import median3x3
    >>> image = np.zeros((5, 5)); image[2, 2] = 100.0
    >>> float(median3x3(image).max())
    0.0
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise InputError(f"median3x3 takes a 2-D image, got shape {image.shape}")
    if mode not in _PAD_MODES:
        raise InputError(f"mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    if min(image.shape) == 0:
        return image.copy()
    padded = np.pad(image, 1, mode=_PAD_MODES[mode])
    top, middle, bottom = padded[:-2], padded[1:-1], padded[2:]
    low_pair, high_pair = np.minimum(top, middle), np.maximum(top, middle)
    low = np.minimum(low_pair, bottom)
    high = np.maximum(high_pair, bottom)
    mid = np.maximum(low_pair, np.minimum(high_pair, bottom))
    del low_pair, high_pair
    largest_low = np.maximum(np.maximum(low[:, :-2], low[:, 1:-1]), low[:, 2:])
    smallest_high = np.minimum(np.minimum(high[:, :-2], high[:, 1:-1]), high[:, 2:])
    median_mid = _median3(mid[:, :-2], mid[:, 1:-1], mid[:, 2:])
    return _median3(largest_low, median_mid, smallest_high)
