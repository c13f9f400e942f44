"""One conversion from a color image to a training item, for every data source."""

from __future__ import annotations

import numpy as np
import torch

from .color import rgb_to_lab_numpy
from .exceptions import InputError
from .geometry import GALAXY_MIN_LIGHTNESS

__all__ = ["item_from_rgb"]


def item_from_rgb(rgb: np.ndarray, index: int = 0, valid: np.ndarray | None = None) -> dict:
    """A training item from an sRGB color image, as :class:`~galcolor.datasets.ImageFolder` serves it.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
        sRGB in [0, 1] (float; clipped) or 0-255 (uint8).
    index : int, optional
        Stored as ``item["index"]``.
    valid : numpy.ndarray of bool, shape (H, W), optional
        Pixels with valid color (default all); invalid pixels get
        L = a* = b* = 0 and are never galaxy pixels.

    Returns
    -------
    dict
        ``lightness`` (1, H, W) float32, ``ab`` (2, H, W) float32,
        ``galaxy_mask`` (L > 15 on valid pixels) and ``valid_mask`` (1, H, W)
        bool, ``index``.

    Examples
    --------
    >>> import numpy as np
    >>> item = item_from_rgb(np.ones((4, 4, 3), dtype=np.float32))
    >>> float(item["lightness"].max()), bool(item["galaxy_mask"].all())
    (100.0, True)
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise InputError(f"rgb must have shape (H, W, 3), got {rgb.shape}")
    if rgb.dtype == np.uint8:
        rgb = rgb.astype(np.float32) / 255.0
    lab = rgb_to_lab_numpy(np.clip(rgb, 0.0, 1.0).astype(np.float32))
    valid = np.ones(rgb.shape[:2], dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    lightness = np.where(valid, np.clip(lab[..., 0], 0.0, 100.0), 0.0).astype(np.float32)
    ab = np.where(valid[..., None], lab[..., 1:], 0.0).astype(np.float32)
    return {
        "lightness": torch.from_numpy(lightness[None]),
        "ab": torch.from_numpy(np.ascontiguousarray(ab.transpose(2, 0, 1))),
        "galaxy_mask": torch.from_numpy((valid & (lightness > GALAXY_MIN_LIGHTNESS))[None]),
        "valid_mask": torch.from_numpy(valid[None].copy()),
        "index": int(index),
    }
