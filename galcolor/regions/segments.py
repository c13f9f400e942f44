"""Segmentation helpers shared by the galaxy and the knot finders."""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
from photutils.segmentation import SegmentationImage, deblend_sources
from skimage.morphology import local_maxima
from skimage.segmentation import watershed

__all__ = ["deblend", "splittable_labels", "split_at_markers"]


def splittable_labels(data: np.ndarray, segments: SegmentationImage, n_pixels: int,
                      labels: np.ndarray | None = None) -> np.ndarray:
    """The labels whose segment holds two regional maxima of ``data`` and 2 ``n_pixels`` pixels.

    At any threshold, each connected piece of a segment above it holds a
    regional maximum of ``data`` over the segment, so a segment with a
    single one never comes apart: multi-thresholding it only costs time.
    A plateau counts as many maxima as it has pixels, which errs on the
    side of deblending. ``labels`` limits the answer to those segments.

    Examples
    --------
    >>> import numpy as np
    >>> from photutils.segmentation import SegmentationImage
    >>> data = np.array([[1.0, 3, 1, 3, 1], [0, 0, 0, 0, 0], [1, 2, 1, 0, 0]])
    >>> segments = SegmentationImage(np.array([[1, 1, 1, 1, 1], [0] * 5, [2, 2, 2, 0, 0]]))
    >>> splittable_labels(data, segments, 2).tolist()
    [1]
    """
    keep = []
    for label, box, area in zip(segments.labels, segments.slices, segments.areas):
        if area < 2 * n_pixels or (labels is not None and label not in labels):
            continue
        inside = segments.data[box] == label
        values = np.where(inside, data[box], -np.inf)
        if np.count_nonzero(local_maxima(values, connectivity=2, allow_borders=True) & inside) >= 2:
            keep.append(label)
    return np.asarray(keep, dtype=int)


def deblend(data: np.ndarray, segments: SegmentationImage, n_pixels: int, *, n_levels: int,
            contrast: float, labels: np.ndarray | None = None) -> tuple[SegmentationImage, np.ndarray]:
    """:func:`photutils.segmentation.deblend_sources`, over the segments that can come apart.

    The result is the one ``deblend_sources`` gives on every segment (its
    exponential multi-thresholding, watershed and contrast criterion, 8-connected,
    labels renumbered 1..N), only faster: a segment with one regional maximum
    of ``data`` is passed over, since no threshold splits it.

    Parameters
    ----------
    data : numpy.ndarray
        The image the segments were detected on (finite).
    segments : photutils.segmentation.SegmentationImage
        The segments to deblend.
    n_pixels : int
        The fewest connected pixels of a deblended piece.
    n_levels, contrast
        As in ``deblend_sources``.
    labels : numpy.ndarray of int, optional
        Deblend only these segments (default: all).

    Returns
    -------
    segments : photutils.segmentation.SegmentationImage
        The deblended segments.
    split : numpy.ndarray of bool
        Per label of the result: True where it is one of two or more pieces
        of an input segment.

    Examples
    --------
    Two touching blobs come apart; a lone one is left as it is:

    >>> import numpy as np
    >>> from photutils.segmentation import detect_sources
    >>> from galcolor.regions.segments import deblend
    >>> rows, cols = np.indices((40, 60))
    >>> image = sum(np.exp(-((cols - x) ** 2 + (rows - 20) ** 2) / 8.0) for x in (12, 20, 45))
    >>> pieces, split = deblend(image, detect_sources(image, 0.05, 5), 5, n_levels=32, contrast=0.001)
    >>> pieces.n_labels, split.tolist()
    (3, [False, True, True])
    """
    wanted = None if labels is None else set(np.asarray(labels).tolist())
    labels = splittable_labels(data, segments, n_pixels, wanted)
    if labels.size:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # mode changes to linear on non-positive data: expected
            segments = deblend_sources(data, segments, n_pixels, labels=labels, n_levels=n_levels,
                                       contrast=contrast, progress_bar=False)
        children = [np.asarray(pieces) for pieces in segments.parent_to_deblended_labels.values() if len(pieces) > 1]
        split_labels = np.concatenate(children) if children else np.zeros(0, dtype=int)
    else:
        split_labels = np.zeros(0, dtype=int)
    return segments, np.isin(segments.labels, split_labels)


def split_at_markers(segments: SegmentationImage, image: np.ndarray,
                     markers_of: Callable[[np.ndarray, np.ndarray, tuple[slice, slice]],
                                          tuple[np.ndarray, int]],
                     min_area: int, labels: np.ndarray | None = None) -> tuple[SegmentationImage, set[int]]:
    """Segments cut by a watershed of ``-image`` from markers where a segment holds several of them.

    For each segment (only ``labels``, default all), ``markers_of(values,
    inside, box)`` gets the segment's ``image`` values (0 outside it), its
    pixels and its bounding box, and returns the labelled markers and their
    count; with two or more, :func:`skimage.segmentation.watershed` on
    ``-values`` cuts the segment, which stays whole when a piece would
    have fewer than ``min_area`` pixels. Returns the segments (the input
    itself when nothing was cut) and the labels of the pieces of every cut
    segment (the first piece keeps the segment's label).

    Examples
    --------
    Two peaks, each its own marker:

    >>> import numpy as np
    >>> from photutils.segmentation import SegmentationImage
    >>> image = np.array([[1.0, 3, 2, 3, 1]])
    >>> def two_peaks(values, inside, box):
    ...     return np.array([[0, 1, 0, 2, 0]]), 2
    >>> pieces, split = split_at_markers(SegmentationImage(np.ones((1, 5), int)), image, two_peaks, 2)
    >>> pieces.data.tolist(), sorted(split)
    ([[1, 1, 1, 2, 2]], [1, 2])
    """
    data = segments.data.copy()
    next_label = int(data.max()) + 1
    wanted = None if labels is None else set(np.asarray(labels).tolist())
    split: set[int] = set()
    for label, box in zip(segments.labels, segments.slices):
        if wanted is not None and label not in wanted:
            continue
        inside = segments.data[box] == label
        values = np.where(inside, image[box], 0.0)
        markers, count = markers_of(values, inside, box)
        if count < 2:
            continue
        pieces = watershed(-values, markers, mask=inside)
        if np.bincount(pieces.ravel(), minlength=count + 1)[1:].min() < min_area:
            continue
        region = data[box]
        split.add(int(label))
        for piece in range(2, count + 1):
            region[pieces == piece] = next_label
            split.add(next_label)
            next_label += 1
    return (SegmentationImage(data) if split else segments), split
