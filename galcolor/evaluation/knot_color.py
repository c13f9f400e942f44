"""Does the predicted color carry the color of compact knots? The blue excess at known knots.

A region finder can only be as good as the color it reads (issue 27). Here
the color of each known object (a simulated clump, star or companion; a knot
or hard negative injected into a real galaxy) is measured the way the finder
measures a candidate, once in the true color and once in the predicted one:
the b* (and a*) of the disk beneath, a normalised Gaussian average of the
galaxy with every known object left out, minus the PSF-smoothed b* at the
object. Positive is bluer (or, in a*, less red) than the disk. The agreement
of the two over many knots (:func:`excess_agreement`: least-squares slope of
predicted on true, Pearson correlation) says whether the colorizer paints a
blue knot blue, or the color of its disk (slope and correlation near 0).

Examples
--------
A simulated galaxy seen in its true color: the clumps are bluer than their
disks, the measurement says so.

>>> import numpy as np
>>> from galcolor.datasets import simulate
>>> from galcolor.evaluation.knot_color import knot_color_excess
>>> from galcolor.evaluation.knots import simulated_truth
>>> galaxy = simulate(1, size=96, seed=20, max_clumps=4, star_rate=0)[0]
>>> truth = simulated_truth(galaxy, 3.5)
>>> excess = knot_color_excess(galaxy.to_cutout("r"), truth["x"], truth["y"], 3.5)
>>> bool(np.all(excess["b_excess"][truth["positive"].to_numpy()] > 0))
True
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import ndimage

from ..colorization import Colorization
from ..geometry import near_points
from ..io import Cutout
from ..regions.parameters import RegionParameters
from ..regions.planes import FWHM_PER_SIGMA, color_planes, smooth_many
from .knots import inject_frame, injected_truth, simulated_truth

__all__ = ["knot_color_excess", "knot_light_excess", "excess_agreement", "simulated_knot_colors",
           "injected_knot_colors"]


def knot_color_excess(data: Colorization | Cutout, x: Sequence[float], y: Sequence[float], psf_fwhm: float, *,
                      exclude_radius: float = 1.0, disk_color_scale: float | None = None) -> dict[str, np.ndarray]:
    """The a* and b* excess of the disk beneath over known objects at (``x``, ``y``).

    Parameters
    ----------
    data : galcolor.Colorization or galcolor.Cutout
        Predicted color, or a cutout with ``truth_rgb`` (true color).
    x, y : sequence of float
        Pixel positions of the objects (0-based, x along columns).
    psf_fwhm : float
        PSF FWHM in pixels: the smoothing of the color at the object.
    exclude_radius : float, optional
        Every object's disk of this radius (PSF FWHMs) is left out of the
        disk color, as the finder leaves its candidates out.
    disk_color_scale : float, optional
        FWHM, in PSF FWHMs, of the Gaussian average of the disk color
        (default that of :class:`~galcolor.regions.RegionParameters`).

    Returns
    -------
    dict of numpy.ndarray
        ``b_excess`` (disk b* minus the object's: positive is bluer) and
        ``a_excess`` (disk a* minus the object's), one value per object;
        NaN where the object or the disk beneath it is masked or off the image.
    """
    planes = color_planes(data)
    (a_object, b_object), (a_disk, b_disk) = _at_objects_and_disks(
        [planes.a, planes.b], ~np.asarray(planes.mask, dtype=bool), x, y, psf_fwhm, exclude_radius,
        disk_color_scale)
    return {"b_excess": b_disk - b_object, "a_excess": a_disk - a_object}


def _at_objects_and_disks(planes: list[Any], valid: np.ndarray, x: Sequence[float], y: Sequence[float],
                          psf_fwhm: float, exclude_radius: float, disk_color_scale: float | None
                          ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each plane PSF-smoothed at the objects, and averaged over the disk beneath with the objects left out.

    Both are normalised Gaussian averages over the ``valid`` pixels, read at
    (``x``, ``y``) by linear interpolation (NaN off the image); see
    :func:`knot_color_excess`.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    scale = RegionParameters().disk_color_scale if disk_color_scale is None else float(disk_color_scale)
    values = [np.where(valid, np.asarray(plane, dtype=np.float64), 0.0) for plane in planes]
    near = near_points(valid.shape, x, y, exclude_radius * psf_fwhm)
    at_psf = smooth_many(values, valid.astype(np.float64), psf_fwhm / FWHM_PER_SIGMA)
    disk = smooth_many(values, (valid & ~near).astype(np.float64), max(scale * psf_fwhm / FWHM_PER_SIGMA, 2.0))

    def at(plane: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros(0)
        return ndimage.map_coordinates(plane, [y, x], order=1, mode="constant", cval=np.nan)

    return [at(plane) for plane in at_psf], [at(plane) for plane in disk]


def knot_light_excess(cutout: Cutout, x: Sequence[float], y: Sequence[float], psf_fwhm: float, *,
                      exclude_radius: float = 1.0, disk_color_scale: float | None = None) -> dict[str, np.ndarray]:
    """What the lightness alone says about known objects: the same measurement as :func:`knot_color_excess` on L.

    Parameters
    ----------
    cutout : galcolor.Cutout
        The cutout (its ``lightness`` and ``mask``).
    x, y, psf_fwhm, exclude_radius, disk_color_scale
        As for :func:`knot_color_excess`.

    Returns
    -------
    dict of numpy.ndarray
        ``l_object`` (the PSF-smoothed L at the object), ``l_disk`` (the
        L of the disk beneath, known objects left out), ``l_excess``
        (``l_object - l_disk``: positive is brighter than the disk) and
        ``centre_distance_psf`` (distance from the cutout's centre in PSF
        FWHMs), one value per object.

    Examples
    --------
    >>> from galcolor.datasets import simulate
    >>> from galcolor.evaluation.knots import simulated_truth
    >>> galaxy = simulate(1, size=96, seed=20, max_clumps=4, star_rate=0)[0]
    >>> truth = simulated_truth(galaxy, 3.5)
    >>> light = knot_light_excess(galaxy.to_cutout("r"), truth["x"], truth["y"], 3.5)
    >>> bool(np.all(light["l_excess"] > 0))
    True
    """
    lightness = np.asarray(cutout.lightness, dtype=np.float64)
    valid = ~np.asarray(cutout.mask, dtype=bool) & np.isfinite(lightness)
    (l_object,), (l_disk,) = _at_objects_and_disks([lightness], valid, x, y, psf_fwhm, exclude_radius,
                                                   disk_color_scale)
    height, width = valid.shape
    distance = np.hypot(np.asarray(x, dtype=np.float64) - (width - 1) / 2,
                        np.asarray(y, dtype=np.float64) - (height - 1) / 2) / psf_fwhm
    return {"l_object": l_object, "l_disk": l_disk, "l_excess": l_object - l_disk, "centre_distance_psf": distance}


def excess_agreement(true: Sequence[float], predicted: Sequence[float]) -> dict[str, float]:
    """How well the predicted excess follows the true one: slope, intercept, correlation.

    The least-squares line of ``predicted`` on ``true`` (slope 1 and
    correlation 1: the colorizer gets every knot's color; slope 0: it paints
    knots the color of their disk) over the finite pairs, with their number,
    the median of each side, the fraction of true-bluer objects
    (``true`` > 0) predicted bluer too (``bluer_too``) and the fraction of
    all objects predicted bluer (``predicted_bluer``).

    Examples
    --------
    >>> stats = excess_agreement([1.0, 2.0, 3.0, 4.0], [0.5, 1.0, 1.5, 2.0])
    >>> stats["slope"], stats["correlation"], stats["n"]
    (0.5, 1.0, 4)
    """
    true = np.asarray(true, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    finite = np.isfinite(true) & np.isfinite(predicted)
    true, predicted = true[finite], predicted[finite]
    result = {"n": int(true.size), "slope": math.nan, "intercept": math.nan, "correlation": math.nan,
              "median_true": math.nan, "median_predicted": math.nan, "bluer_too": math.nan,
              "predicted_bluer": math.nan}
    if true.size == 0:
        return result
    result.update(median_true=float(np.median(true)), median_predicted=float(np.median(predicted)),
                  predicted_bluer=float(np.mean(predicted > 0)))
    if (true > 0).any():
        result["bluer_too"] = float(np.mean(predicted[true > 0] > 0))
    if true.size >= 3 and np.ptp(true) > 0:
        slope, intercept = np.polyfit(true, predicted, 1)
        result.update(slope=round(float(slope), 12), intercept=float(intercept))
        if np.ptp(predicted) > 0:
            result["correlation"] = round(float(np.corrcoef(true, predicted)[0, 1]), 12)
    return result


def _measure(key: Any, data_true: Cutout, data_predicted: Colorization, frame: pd.DataFrame,
             psf_fwhm: float) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "image", key)
    for name, data in (("true", data_true), ("predicted", data_predicted)):
        excess = knot_color_excess(data, frame["x"], frame["y"], psf_fwhm)
        frame[f"b_excess_{name}"] = excess["b_excess"]
        frame[f"a_excess_{name}"] = excess["a_excess"]
    frame["psf_fwhm"] = psf_fwhm
    frame = pd.concat([frame, pd.DataFrame(knot_light_excess(data_true, frame["x"], frame["y"], psf_fwhm),
                                           index=frame.index)], axis=1)
    return frame


def simulated_knot_colors(galaxies: Iterable[Any], colorizer: Any, *, band: str = "r", chunk: int = 16,
                          progress: bool = True) -> pd.DataFrame:
    """True and predicted excess of every object of simulated galaxies (:func:`simulated_truth`, new definition).

    The PSF FWHM is the simulator's seeing over its pixel scale.
    """
    from tqdm.auto import tqdm

    galaxies = list(galaxies)
    frames = []
    with tqdm(total=len(galaxies), desc="simulated", unit="galaxy", disable=not progress) as bar:
        for start in range(0, len(galaxies), chunk):
            batch = galaxies[start:start + chunk]
            cutouts = [galaxy.to_cutout(band) for galaxy in batch]
            for offset, (galaxy, cutout, colorization) in enumerate(
                    zip(batch, cutouts, colorizer.colorize_cutouts(cutouts))):
                psf = float(galaxy.params["seeing_fwhm_arcsec"]) / float(galaxy.params["pixel_scale"])
                frames.append(_measure(start + offset, cutout, colorization, simulated_truth(galaxy, psf), psf))
                bar.update(1)
    return pd.concat(frames, ignore_index=True)


def injected_knot_colors(paths: Sequence[Any], colorizer: Any, *, seed: int, progress: bool = True,
                         **injection: Any) -> pd.DataFrame:
    """True and predicted excess of the knots and hard negatives injected into real frames.

    The frames are those of :func:`~galcolor.evaluation.knots.injected_candidates`
    with the same ``seed`` (the same random sequence, frame by frame); each
    object is measured at the injected FWHM.
    """
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    frames = []
    for number, path in enumerate(tqdm(list(paths), desc="injected", unit="galaxy", disable=not progress)):
        frame = inject_frame(path, rng, **injection)
        if frame is None:
            continue
        measured = _measure(number, frame.cutout, colorizer(frame.cutout), injected_truth(frame.truth), frame.fwhm)
        measured["frame"] = frame.name
        frames.append(measured)
    return pd.concat(frames, ignore_index=True)
