"""Where the galaxy is: galaxy pixels, the central galaxy, its size, and the training geometry.

One home for the facts that the colorizer (``scale="auto"``), training
(random windows, zoom augmentation), the metrics and the pipeline's
per-galaxy summary share: galaxy pixels are L > 15 (DESIGN.md), the
central galaxy is the connected region of them at the image centre, and
the shipped models learned galaxies of a known size in network pixels.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from scipy import ndimage

from .exceptions import InputError

__all__ = ["GALAXY_MIN_LIGHTNESS", "galaxy_mask", "central_galaxy_mask", "galaxy_radius", "REFERENCE_GALAXY_RADIUS",
           "REFERENCE_GEOMETRY", "GALAXY_ZOO_SIDE", "SCALE_RANGE", "reference_radius", "training_galaxy_radius",
           "near_points"]

#: Pixels brighter than this lightness are "galaxy" (DESIGN.md).
GALAXY_MIN_LIGHTNESS = 15.0


def galaxy_mask(lightness: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Galaxy pixels: L > 15 (and valid, when a validity mask is given).

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.geometry import galaxy_mask
    >>> galaxy_mask(np.array([[5.0, 20.0]])).tolist()
    [[False, True]]
    """
    mask = np.asarray(lightness) > GALAXY_MIN_LIGHTNESS
    return mask if valid is None else mask & np.asarray(valid, dtype=bool)


#: Median equivalent radius (sqrt(area / pi) of the L > 15 region) of the
#: training galaxies in network pixels: SDSS Galaxy Zoo validation images,
#: central 208 px resized to 128 px, measured by
#: ``python benchmarks/bench_colorize.py --reference-radius``.
REFERENCE_GALAXY_RADIUS = 30.4

#: ``scale="auto"`` never zooms in more than this (tiny galaxies stay blurry
#: rather than inventing detail) nor out more than this; training's zoom
#: augmentation keeps to the same range.
SCALE_RANGE = (1.0 / 16.0, 2.0)
#: The training geometry :data:`REFERENCE_GALAXY_RADIUS` was measured at:
#: (network side, central crop side) of the Galaxy Zoo frames.
REFERENCE_GEOMETRY = (128, 208)
#: Side of the Galaxy Zoo frames a fractional ``--crop`` refers to.
GALAXY_ZOO_SIDE = 424


def reference_radius(network: Any) -> float:
    """The galaxy radius, in network pixels, that ``scale="auto"`` aims for.

    A network trained by ``galcolor train`` records its training geometry
    (``weights_info["extra"]["training"]["data"]``: side ``size`` and central
    ``crop`` of the Galaxy Zoo frames; ``crop`` as a side in pixels or a
    fraction of the 424 px frame). Its typical galaxy is then
    :data:`REFERENCE_GALAXY_RADIUS` scaled by the ratio of its
    ``size / crop`` to the shipped model's 128 / 208; a model trained at
    64 px from the same crop sees galaxies half as large. Networks without a
    record (the shipped default, user modules) get
    :data:`REFERENCE_GALAXY_RADIUS`.

    Examples
    --------
    >>> import torch
    >>> network = torch.nn.Identity()
    >>> reference_radius(network) == REFERENCE_GALAXY_RADIUS
    True
    >>> network.weights_info = {"extra": {"training": {"data": {"size": 64, "crop": 208}}}}
    >>> reference_radius(network)
    15.2
    """
    training = ((getattr(network, "weights_info", None) or {}).get("extra") or {}).get("training") or {}
    data = training.get("data") or {}
    size = data.get("size", training.get("size"))
    if size is None:
        return REFERENCE_GALAXY_RADIUS
    return training_galaxy_radius(size, data.get("crop", REFERENCE_GEOMETRY[1]))


def training_galaxy_radius(size: float, crop: float | None) -> float:
    """The typical galaxy radius, in pixels, of Galaxy Zoo frames cropped and resized for training.

    Parameters
    ----------
    size : float
        Side of the training images in pixels.
    crop : float or None
        Central crop of the 424 px frames before resizing: a side in pixels,
        a fraction of the frame (<= 1), or None for the whole frame.

    Returns
    -------
    float
        :data:`REFERENCE_GALAXY_RADIUS` scaled from the shipped model's
        geometry (128 px from the central 208 px) to this one.

    Examples
    --------
    >>> training_galaxy_radius(128, 208)
    30.4
    >>> round(training_galaxy_radius(64, 0.5), 2)
    14.91
    """
    if crop is None:
        crop = GALAXY_ZOO_SIDE
    elif float(crop) <= 1.0:
        crop = float(crop) * GALAXY_ZOO_SIDE
    reference_size, reference_crop = REFERENCE_GEOMETRY
    return REFERENCE_GALAXY_RADIUS * (float(size) / float(crop)) / (reference_size / reference_crop)


def central_galaxy_mask(lightness: np.ndarray, mask: np.ndarray | None = None,
                        threshold: float = GALAXY_MIN_LIGHTNESS) -> np.ndarray:
    """Pixels of the galaxy at (or nearest) the image centre.

    The galaxy is the connected region where the 3x3-box-smoothed
    lightness exceeds ``threshold`` that contains the centre pixel; when no
    region does, the brightest (summed L) of the regions that come within a
    quarter of the frame of the centre, or else the region nearest to it.
    Other objects in the frame (neighbours, stars) are left out.

    Parameters
    ----------
    lightness : numpy.ndarray, shape (H, W)
        CIELAB L.
    mask : numpy.ndarray of bool, optional
        Bad pixels, never part of the galaxy.
    threshold : float, optional
        L above which a pixel is galaxy (default 15, ``galcolor.metrics``).

    Returns
    -------
    numpy.ndarray of bool, shape (H, W)
        All False when no pixel exceeds the threshold.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((15, 15)); image[5:10, 5:10] = 50; image[0:4, 0:4] = 90
    >>> mask = central_galaxy_mask(image)  # the centre square, not the brighter corner one
    >>> bool(mask[7, 7]), bool(mask[1, 1])
    (True, False)
    """
    lightness = np.asarray(lightness, dtype=np.float32)
    if lightness.ndim != 2:
        raise InputError(f"lightness must be (H, W), got shape {lightness.shape}")
    smooth = ndimage.uniform_filter(lightness, size=3, mode="nearest")
    above = smooth > threshold
    if mask is not None:
        above &= ~np.asarray(mask, dtype=bool)
    if not above.any():
        return above
    labels, count = ndimage.label(above)
    height, width = lightness.shape
    centre = labels[height // 2, width // 2]
    if centre == 0:
        # the brightest region (summed L) reaching within a quarter frame of
        # the centre, else the region nearest to it
        rows, columns = np.nonzero(above)
        distance = np.hypot(rows - (height - 1) / 2.0, columns - (width - 1) / 2.0)
        near = np.unique(labels[rows[distance <= 0.25 * min(height, width)],
                                columns[distance <= 0.25 * min(height, width)]])
        if near.size:
            totals = ndimage.sum_labels(smooth, labels, index=near)
            centre = near[int(np.argmax(totals))]
        else:
            nearest = np.argmin(distance)
            centre = labels[rows[nearest], columns[nearest]]
    return labels == centre


def galaxy_radius(lightness: np.ndarray, mask: np.ndarray | None = None,
                  threshold: float = GALAXY_MIN_LIGHTNESS) -> float | None:
    """Equivalent radius sqrt(area / pi) in pixels of :func:`central_galaxy_mask`.

    Returns
    -------
    float or None
        None when no pixel exceeds the threshold.

    Examples
    --------
    >>> import numpy as np
    >>> y, x = np.mgrid[:64, :64]
    >>> disk = np.where(np.hypot(x - 32, y - 32) < 10, 60.0, 0.0)
    >>> round(galaxy_radius(disk), 1)
    10.5
    """
    area = int(np.count_nonzero(central_galaxy_mask(lightness, mask, threshold)))
    return math.sqrt(area / math.pi) if area else None


def near_points(shape: tuple[int, int], x: Sequence[float], y: Sequence[float],
                radius: float | Sequence[float]) -> np.ndarray:
    """The pixels within ``radius`` of any of the points (``x`` along columns), as a bool image.

    ``radius`` is one for all points, or one per point.

    Examples
    --------
    >>> from galcolor.geometry import near_points
    >>> near_points((3, 5), [0.0, 4.0], [1.0, 1.0], [1.0, 0.5]).astype(int).tolist()
    [[1, 0, 0, 0, 0], [1, 1, 0, 0, 1], [1, 0, 0, 0, 0]]
    """
    rows, cols = np.indices(shape, dtype=np.float64)
    radii = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(x),))
    near = np.zeros(shape, dtype=bool)
    for px, py, r in zip(x, y, radii):
        near |= np.hypot(cols - px, rows - py) <= r
    return near

