"""Colour metrics, measured on the galaxy as well as on the whole image.

Most pixels of a galaxy cutout are dark sky, where every colorizer (even one
that predicts grey) is nearly right; whole-image averages therefore reward
grey predictions. Every metric here takes an optional mask, and
:func:`galaxy_mask` gives the standard one: pixels with L > 15
(``GALAXY_MIN_LIGHTNESS``, DESIGN.md).

Arrays are channels-last numpy arrays: ``lab`` is (..., H, W, 3), ``ab``
(..., H, W, 2), masks (..., H, W).

Examples
--------
>>> import numpy as np
>>> from galcolor.metrics import ab_mae, delta_e2000
>>> truth = np.zeros((4, 4, 3)); truth[..., 0] = 50.0; truth[..., 2] = 10.0
>>> grey = truth.copy(); grey[..., 1:] = 0.0
>>> float(ab_mae(grey[..., 1:], truth[..., 1:]))
5.0
>>> round(float(delta_e2000(grey, truth)), 2)
8.16
"""

from __future__ import annotations

import numpy as np
from skimage.color import deltaE_ciede2000

from .exceptions import InputError

__all__ = ["GALAXY_MIN_LIGHTNESS", "galaxy_mask", "ab_mae", "delta_e2000"]

#: Pixels brighter than this lightness are "galaxy" (DESIGN.md).
GALAXY_MIN_LIGHTNESS = 15.0


def galaxy_mask(lightness: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Galaxy pixels: L > 15 (and valid, when a validity mask is given).

    Examples
    --------
    >>> import numpy as np
    >>> galaxy_mask(np.array([[5.0, 20.0]])).tolist()
    [[False, True]]
    """
    mask = np.asarray(lightness) > GALAXY_MIN_LIGHTNESS
    return mask if valid is None else mask & np.asarray(valid, dtype=bool)


def _masked_mean(values: np.ndarray, mask: np.ndarray | None, name: str) -> float:
    if mask is None:
        return float(np.mean(values))
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != values.shape:
        raise InputError(f"{name}: mask shape {mask.shape} does not match the image shape {values.shape}")
    if not mask.any():
        return float("nan")
    return float(np.mean(values[mask]))


def ab_mae(predicted_ab: np.ndarray, true_ab: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute ab error, averaged over a* and b* and over (masked) pixels.

    Parameters
    ----------
    predicted_ab, true_ab : numpy.ndarray, shape (..., H, W, 2)
        Chrominance in Lab units.
    mask : numpy.ndarray of bool, shape (..., H, W), optional
        Pixels to average over (e.g. :func:`galaxy_mask`); all by default.

    Returns
    -------
    float
        NaN when the mask selects no pixel.
    """
    predicted, true = np.asarray(predicted_ab, dtype=np.float64), np.asarray(true_ab, dtype=np.float64)
    if predicted.shape != true.shape or predicted.shape[-1] != 2:
        raise InputError(f"ab_mae: expected two (..., H, W, 2) arrays, got {predicted.shape} and {true.shape}")
    return _masked_mean(np.abs(predicted - true).mean(axis=-1), mask, "ab_mae")


def delta_e2000(predicted_lab: np.ndarray, true_lab: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean CIEDE2000 colour difference (:func:`skimage.color.deltaE_ciede2000`).

    Parameters
    ----------
    predicted_lab, true_lab : numpy.ndarray, shape (..., H, W, 3)
        Lab images.
    mask : numpy.ndarray of bool, shape (..., H, W), optional
        Pixels to average over; all by default.

    Returns
    -------
    float
        NaN when the mask selects no pixel.
    """
    predicted, true = np.asarray(predicted_lab, dtype=np.float64), np.asarray(true_lab, dtype=np.float64)
    if predicted.shape != true.shape or predicted.shape[-1] != 3:
        raise InputError(
            f"delta_e2000: expected two (..., H, W, 3) arrays, got {predicted.shape} and {true.shape}"
        )
    return _masked_mean(deltaE_ciede2000(predicted, true, channel_axis=-1), mask, "delta_e2000")
