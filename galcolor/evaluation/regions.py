"""How well the region finder does where the truth is known: matching, blends, completeness and purity.

The shared harness of ``pipelines/calibrate_regions.py`` (fitting the
score) and ``benchmarks/bench_regions.py`` (completeness and purity): it
colorizes simulated galaxies, runs :func:`galcolor.regions.find_star_forming_regions`
on the predicted and on the true color, and matches the regions to the
simulator's truth table.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from astropy import units as u
from astropy.table import QTable, vstack
from scipy.sparse.csgraph import connected_components
from tqdm.auto import tqdm

from ..colorizer import Colorizer
from ..exceptions import InputError
from ..process import process
from ..regions import SCORE_FEATURES, RegionParameters, score_features

__all__ = ["BLEND_LINK", "MATCH_RADIUS", "match_regions", "match_catalog", "truth_geometry", "completeness_purity", "resolve_blends",
           "label_candidates", "evaluate_on_simulation"]

#: Simulated clumps closer than this many PSF FWHMs are one blend (:func:`resolve_blends`).
BLEND_LINK = 1.0
#: A detection matches a true object (or another catalog's region) within this many PSF FWHMs.
MATCH_RADIUS = 1.5


def match_regions(x: np.ndarray, y: np.ndarray, true_x: np.ndarray, true_y: np.ndarray,
                  radius: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of detections to true positions within ``radius``.

    Pairs are taken closest first (a greedy assignment, which equals the
    optimal one whenever true objects are further apart than twice the
    radius).

    Returns
    -------
    detected_match, true_match : numpy.ndarray of int
        For each detection the index of its true object (-1: none), and for
        each true object the index of its detection (-1: missed).

    Examples
    --------
    >>> from galcolor.evaluation import match_regions
    >>> match_regions([0.0, 10.0], [0.0, 0.0], [0.5, 30.0], [0.0, 0.0], radius=2.0)
    (array([ 0, -1]), array([ 0, -1]))
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    true_x, true_y = np.asarray(true_x, dtype=np.float64), np.asarray(true_y, dtype=np.float64)
    detected_match = np.full(x.size, -1)
    true_match = np.full(true_x.size, -1)
    if x.size == 0 or true_x.size == 0:
        return detected_match, true_match
    distance = np.hypot(x[:, None] - true_x[None, :], y[:, None] - true_y[None, :])
    for flat in np.argsort(distance, axis=None):
        i, j = np.unravel_index(flat, distance.shape)
        if distance[i, j] > radius:
            break
        if detected_match[i] < 0 and true_match[j] < 0:
            detected_match[i] = j
            true_match[j] = i
    return detected_match, true_match


def match_catalog(catalog: QTable, true_x: np.ndarray, true_y: np.ndarray,
                  radius: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`match_regions` of a region catalog's ``x``, ``y`` (an empty catalog included) to true positions.

    Examples
    --------
    >>> from galcolor import catalog
    >>> from galcolor.evaluation import match_catalog
    >>> match_catalog(catalog.empty_table(), [3.0], [4.0], radius=2.0)
    (array([], dtype=int64), array([-1]))
    """
    x = u.Quantity(catalog["x"]).value if len(catalog) else np.zeros(0)
    y = u.Quantity(catalog["y"]).value if len(catalog) else np.zeros(0)
    return match_regions(x, y, true_x, true_y, radius)


def truth_geometry(x: np.ndarray, y: np.ndarray, is_clump: np.ndarray, shape: tuple[int, int],
                   psf_fwhm: float) -> tuple[np.ndarray, np.ndarray]:
    """Each true object's distance from the frame centre and from the nearest other clump, in PSF FWHMs.

    The simulator draws the main galaxy at the centre of the frame. The
    distance to the nearest other clump (or blend) says whether a clump is
    crowded: the completeness of crowded clumps is limited by the
    resolution, that of isolated ones by the method.

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.evaluation import truth_geometry
    >>> truth_geometry(np.array([4.5, 8.5, 4.5]), np.array([4.5, 4.5, 0.5]), np.array([True, True, False]), (10, 10), 2.0)
    (array([0., 2., 2.]), array([2., 2., 2.]))
    """
    height, width = shape
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    r_centre = np.hypot(x - (width - 1) / 2.0, y - (height - 1) / 2.0) / psf_fwhm
    separation = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) / psf_fwhm
    np.fill_diagonal(separation, np.inf)
    nearest_clump = np.min(np.where(np.asarray(is_clump)[None, :], separation, np.inf), axis=1, initial=np.inf)
    return r_centre, nearest_clump


def completeness_purity(n_true_found: int, n_true: int, n_correct: int, n_detected: int) -> tuple[float, float]:
    """Completeness (found / true) and purity (correct / detected); NaN for 0/0.

    Examples
    --------
    >>> from galcolor.evaluation import completeness_purity
    >>> completeness_purity(17, 20, 18, 20)
    (0.85, 0.9)
    """
    completeness = n_true_found / n_true if n_true else float("nan")
    purity = n_correct / n_detected if n_detected else float("nan")
    return completeness, purity


def resolve_blends(truth: QTable, psf_fwhm: float, *, link: float = BLEND_LINK) -> QTable:
    """Merge simulated clumps closer together than the PSF into blended clumps.

    Two clumps less than ``link`` PSF FWHMs apart make one knot in the
    image, in any color, and no detector can find both: a truth table
    with them as separate rows would count the second as missed however
    good the finder. Clumps are grouped friends-of-friends (a chain of
    clumps each within ``link`` FWHM of the next is one blend); each blend
    becomes one row at the g-light-weighted mean position, with the summed
    fluxes and ``flux_fraction_g``, and the id, kind and radius of its
    brightest member. Stars, companions and neighbours are left as they
    are. A ``n_members`` column counts the clumps in each row.

    Parameters
    ----------
    truth : astropy.table.QTable
        :attr:`galcolor.datasets.SimulatedGalaxy.truth`.
    psf_fwhm : float
        PSF FWHM in pixels.
    link : float, optional
        Linking length in PSF FWHMs.

    Returns
    -------
    astropy.table.QTable
        The truth table with blends merged, clumps first.

    Examples
    --------
    >>> from astropy import units as u
    >>> from astropy.table import QTable
    >>> from galcolor.evaluation import resolve_blends
    >>> truth = QTable({"id": [1, 2, 3], "kind": ["clump", "clump", "clump"],
    ...                 "x": [10.0, 12.0, 30.0] * u.pix, "y": [10.0, 10.0, 10.0] * u.pix,
    ...                 "flux_g": [3.0, 1.0, 1.0] * u.nanomaggy, "flux_fraction_g": [0.06, 0.02, 0.02]})
    >>> blended = resolve_blends(truth, psf_fwhm=3.5)
    >>> blended["x"].value.tolist(), blended["flux_fraction_g"].tolist(), blended["n_members"].tolist()
    ([10.5, 30.0], [0.08, 0.02], [2, 1])
    """
    truth = QTable(truth, copy=True)
    kinds = np.asarray(truth["kind"], dtype=str) if len(truth) else np.zeros(0, dtype=str)
    clumps = np.flatnonzero(kinds == "clump")
    others = np.flatnonzero(kinds != "clump")
    if clumps.size == 0:
        truth["n_members"] = np.ones(len(truth), dtype=np.int32)
        return truth
    x = np.asarray(u.Quantity(truth["x"]).value, dtype=np.float64)[clumps]
    y = np.asarray(u.Quantity(truth["y"]).value, dtype=np.float64)[clumps]
    linked = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) < link * psf_fwhm
    _, group = connected_components(linked, directed=False)
    light = np.asarray(truth["flux_fraction_g"], dtype=np.float64)[clumps]
    weights = np.clip(light, 1e-12, None)
    summed = [name for name in truth.colnames if name.startswith("flux_")]
    averaged = [name for name in ("x", "y", "ra", "dec") if name in truth.colnames]
    rows = []
    for label in np.unique(group):
        members = clumps[group == label]
        member_weights = weights[group == label]
        row = QTable(truth[[members[np.argmax(member_weights)]]], copy=True)
        for name in summed:
            row[name][0] = np.sum(truth[name][members])
        for name in averaged:
            column = u.Quantity(truth[name][members])
            row[name][0] = np.average(column.value, weights=member_weights) * column.unit
        row["n_members"] = np.array([members.size], dtype=np.int32)
        rows.append(row)
    if others.size:
        rest = QTable(truth[others], copy=True)
        rest["n_members"] = np.ones(others.size, dtype=np.int32)
        rows.append(rest)
    return vstack(rows)


def label_candidates(catalog: QTable, truth: QTable, *, psf_fwhm: float | None = None,
                     radius_factor: float = MATCH_RADIUS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match a region catalog to a simulated galaxy's truth table.

    Detections are matched one to one, closest first, to the true objects of
    every kind within ``radius_factor`` PSF FWHMs; a detection is correct
    when its match is a star-forming clump. Foreground stars, red companions
    and neighbours are in the truth table as hard negatives: a detection on
    one of them is wrong.

    Parameters
    ----------
    catalog : astropy.table.QTable
        From :func:`find_star_forming_regions`.
    truth : astropy.table.QTable
        :attr:`galcolor.datasets.SimulatedGalaxy.truth`.
    psf_fwhm : float, optional
        PSF FWHM in pixels; default: the catalog's ``parameters``.
    radius_factor : float, optional
        Matching radius in PSF FWHMs.

    Returns
    -------
    correct : numpy.ndarray of bool, shape (len(catalog),)
        The detection matched a clump.
    truth_match : numpy.ndarray of int, shape (len(truth),)
        Row of the detection matched to each true object, -1 when none.
    matched_kind : numpy.ndarray of str, shape (len(catalog),)
        Kind of the matched true object ("" when none).
    """
    if psf_fwhm is None:
        psf_fwhm = float(catalog.meta["parameters"]["psf_fwhm"])
    true_x = np.asarray(u.Quantity(truth["x"]).value if len(truth) else np.zeros(0), dtype=np.float64)
    true_y = np.asarray(u.Quantity(truth["y"]).value if len(truth) else np.zeros(0), dtype=np.float64)
    detected_match, truth_match = match_catalog(catalog, true_x, true_y, radius_factor * psf_fwhm)
    kinds = np.asarray(truth["kind"], dtype=str) if len(truth) else np.zeros(0, dtype=str)
    matched_kind = np.asarray([kinds[j] if j >= 0 else "" for j in detected_match], dtype=str)
    return matched_kind == "clump", truth_match, matched_kind


def evaluate_on_simulation(galaxies: Sequence[Any], *, colors: Sequence[str] = ("predicted", "true"),
                           colorizer: Any = None, band: str = "r", progress: bool = True,
                           blend_link: float | None = BLEND_LINK, **find_options: Any):
    """Run the region finder on simulated galaxies and match it to their truth.

    The shared harness of ``pipelines/calibrate_regions.py`` (fitting the
    score) and ``benchmarks/bench_regions.py`` (completeness and purity).

    Parameters
    ----------
    galaxies : sequence of galcolor.datasets.SimulatedGalaxy
    colors : sequence of {"predicted", "true"}
        Predicted color colorizes ``band`` with ``colorizer``; true color
        uses the simulated gri composite.
    colorizer : galcolor.Colorizer, optional
        Default: ``galcolor.Colorizer()`` (the shipped model).
    band : str, optional
        The band that becomes the grey input.
    progress : bool, optional
        tqdm progress bar.
    blend_link : float or None, optional
        Clumps closer than this many PSF FWHMs are matched as one blend
        (:func:`resolve_blends`); None matches every simulated clump on
        its own.
    **find_options
        Passed to :func:`find_star_forming_regions` (``min_score=0`` keeps
        every candidate).

    Returns
    -------
    candidates : pandas.DataFrame
        One row per detection: ``galaxy``, ``color``, the catalog columns,
        the score features, ``correct`` and ``matched_kind``.
    truth : pandas.DataFrame
        One row per true object (blend) and color: ``galaxy``, ``color``,
        ``kind``, ``flux_fraction_g``, ``n_members``, ``r_centre_psf``
        (distance from the galaxy centre in PSF FWHMs), ``nearest_clump_psf``
        (distance to the nearest other clump or blend, PSF FWHMs), ``detection``
        (catalog ``id`` of its match, -1) and ``score`` (of that match, NaN
        when missed).
    """
    colors = tuple(colors)
    if not colors or not set(colors) <= {"predicted", "true"}:
        raise InputError(f"colors must be 'predicted' and/or 'true', got {colors!r}")
    which = "both" if len(set(colors)) == 2 else colors[0]
    calibration = find_options.pop("calibration", None)
    params = RegionParameters().replace(**find_options)
    if colorizer is None and "predicted" in colors:
        colorizer = Colorizer()  # once for every chunk, not once per process() call
    candidate_frames, truth_frames = [], []
    galaxies = list(galaxies)
    chunk = 16  # colorize in batches: one network call for many cutouts
    bar = tqdm(total=len(galaxies), desc="regions", unit="galaxy", disable=not progress)
    for start in range(0, len(galaxies), chunk):
        cutouts = [galaxy.to_cutout(band) for galaxy in galaxies[start:start + chunk]]
        done = process(cutouts, colorizer=colorizer, params=params, calibration=calibration, color=which,
                       batch_size=chunk, strict=True)
        for offset, entry in enumerate(done):
            number = start + offset
            candidate_frames_galaxy, truth_frames_galaxy = _evaluate_one(
                galaxies[number], number, {"predicted": entry.regions, "true": entry.true_regions}, colors,
                blend_link, entry.cutout.lightness.shape)
            candidate_frames += candidate_frames_galaxy
            truth_frames += truth_frames_galaxy
            bar.update(1)
    bar.close()
    candidates = pd.concat(candidate_frames, ignore_index=True) if candidate_frames else pd.DataFrame()
    truth = pd.concat(truth_frames, ignore_index=True) if truth_frames else pd.DataFrame()
    return candidates, truth


def _evaluate_one(galaxy: Any, number: int, catalogs: dict[str, QTable], colors: Sequence[str],
                  blend_link: float | None, shape: tuple[int, int]) -> tuple[list, list]:
    candidate_frames, truth_frames = [], []
    for color in colors:
        catalog = catalogs[color]
        psf = float(catalog.meta["parameters"]["psf_fwhm"])
        truth = galaxy.truth if blend_link is None else resolve_blends(galaxy.truth, psf, link=blend_link)
        correct, truth_match, matched_kind = label_candidates(catalog, truth, psf_fwhm=psf)
        frame = catalog.to_pandas() if len(catalog) else pd.DataFrame(columns=catalog.colnames)
        features = score_features(catalog, psf)
        for column, name in enumerate(SCORE_FEATURES):
            frame[name] = features[:, column] if len(catalog) else []
        frame["correct"] = correct
        frame["matched_kind"] = matched_kind
        frame["psf_fwhm"] = psf
        frame.insert(0, "color", color)
        frame.insert(0, "galaxy", number)
        candidate_frames.append(frame)
        true_x, true_y = np.asarray(u.Quantity(truth["x"]).value), np.asarray(u.Quantity(truth["y"]).value)
        r_centre, nearest_clump = truth_geometry(true_x, true_y, np.asarray(truth["kind"], dtype=str) == "clump",
                                                 shape, psf)
        scores = np.asarray(catalog["score"], dtype=np.float64) if len(catalog) else np.zeros(0)
        ids = np.asarray(catalog["id"]) if len(catalog) else np.zeros(0, dtype=np.int64)
        truth_frames.append(pd.DataFrame({
            "galaxy": number, "color": color, "kind": np.asarray(truth["kind"], dtype=str),
            "flux_fraction_g": np.asarray(truth["flux_fraction_g"], dtype=np.float64),
            "n_members": np.asarray(truth["n_members"]) if "n_members" in truth.colnames else 1,
            "r_centre_psf": r_centre,
            "nearest_clump_psf": nearest_clump,
            "detection": [int(ids[j]) if j >= 0 else -1 for j in truth_match],
            "score": [float(scores[j]) if j >= 0 else np.nan for j in truth_match],
            "psf_fwhm": psf,
        }))
    return candidate_frames, truth_frames
