"""Segmentation helpers shared by the galaxy and the knot finders."""

from __future__ import annotations

import warnings

import numpy as np
from photutils.segmentation import SegmentationImage, deblend_sources
from skimage.morphology import local_maxima

__all__ = ["deblend"]


def _can_split(data: np.ndarray, segments: SegmentationImage, n_pixels: int,
               labels: np.ndarray | None = None) -> np.ndarray:
    """The labels whose segment holds two regional maxima of ``data`` and 2 ``n_pixels`` pixels.

    At any threshold, each connected piece of a segment above it holds a
    regional maximum of ``data`` over the segment, so a segment with a
    single one never comes apart: multi-thresholding it only costs time.
    A plateau counts as many maxima as it has pixels, which errs on the
    side of deblending.
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
    labels = _can_split(data, segments, n_pixels, None if labels is None else set(np.asarray(labels).tolist()))
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
