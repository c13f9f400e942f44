"""Labelled candidate knots, on simulated galaxies and on real galaxies with injected knots.

The data the region classifiers are fitted on (``pipelines/calibrate_regions.py``)
and measured on (``benchmarks/bench_knots.py``). Every image is searched
once per kind of evidence (predicted color, true color, lightness alone)
with every candidate kept (``min_score=0``, uninformative scores); each
candidate is matched to the truth within :data:`~galcolor.evaluation.MATCH_RADIUS`
PSF FWHMs and labelled:

* ``1``: it matched a star-forming clump that a catalog should hold (in
  simulation, bluer than the disk beneath it by :data:`BLUER_MARGIN_GR` in
  g - r; every injected clump is);
* ``0``: it matched a star, companion, neighbour or injected hard negative,
  or (in simulation, where every object is known) nothing;
* ``-1``: unknown: it matched a simulated clump that is not bluer than its
  disk, or, in a real galaxy, nothing injected (a real galaxy has its own
  knots, which nobody has labelled).

Scores are applied afterwards (:func:`score_candidates`), so one search
serves every classifier that is fitted or compared.

Benchmark definitions (issue 26): simulated clumps closer than the matching
radius (1.5 PSF FWHM) count as one blend; a catalog clump is bluer in g - r
than the disk beneath it by at least 0.1 mag (the simulator's clumps have the
Im SED, its disks Sbc or Scd: 0.1 mag keeps clumps on a red bulge and drops
the few at a disk's bluest edge), has at least 8 % of the galaxy's g light
and lies at least 1 PSF FWHM from the centre (Clump Scout). The definition of
galcolor 0.1 (:data:`OLD_DEFINITION`) linked clumps within 1 FWHM and had no
color condition.

Examples
--------
Every candidate of one simulated galaxy, searched in its true color and in
its light alone, labelled against the simulator's truth:

>>> from galcolor.datasets import simulate
>>> from galcolor.evaluation.knots import find_all_evidence, label_simulated
>>> galaxy = simulate(1, size=96, seed=20, max_clumps=4, star_rate=0)[0]
>>> catalogs = find_all_evidence(galaxy.to_cutout("r"), None, kinds=("true", "lightness"))
>>> candidates, truth = label_simulated(0, galaxy, catalogs)
>>> sorted(candidates["kind"].unique()), sorted(candidates["definition"].unique())
(['lightness', 'true'], ['new', 'old'])
>>> set(candidates["label"]) <= {-1, 0, 1}, int(truth["catalog"].any())
(True, 1)
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from astropy import units as u
from astropy.table import QTable
from PIL import Image

from ..colorization import Colorization
from ..exceptions import InputError
from ..io import Cutout, load
from ..regions import (EVIDENCE_KINDS, NoRegionsWarning, RegionClassifier, RegionParameters, feature_names,
                       find_star_forming_regions, knot_features, lightness_psf_fwhm, merged_candidates)
from .injection import draw_clumps_and_negatives, frame_psf_fwhm, inject_knots
from .regions import MATCH_RADIUS, match_catalog, match_regions, resolve_blends, truth_geometry

__all__ = ["InjectedFrame", "inject_frame", "INJECTION_CROP", "COLOR_EXCESS", "CANDIDATE_COLUMNS",
           "candidate_features", "Definition", "NEW_DEFINITION", "OLD_DEFINITION", "BLUER_MARGIN_GR",
           "find_all_evidence", "label_simulated", "label_injected", "simulated_candidates", "injected_candidates",
           "score_candidates", "merge_duplicates", "nucleus_matches", "clump_color_excess", "simulated_truth",
           "injected_truth"]

#: Catalog columns kept with each labelled candidate (the inputs of
#: :func:`~galcolor.regions.knot_features`, and where the candidate is).
CANDIDATE_COLUMNS = ("x", "y", "area", "flux_fraction", "r_gal", "r_gal_norm", "a_mean", "a_err", "b_mean", "b_err",
                     "blue_excess", "significance", "a_excess", "mirror_blue_excess", "mirror_a_excess",
                     "light_significance", "contrast", "size_psf", "elongation", "origin")
#: The kind of evidence of galcolor 0.1's method (candidates only where the
#: predicted color shows an excess, ``candidates="color"``), for the ablation.
COLOR_EXCESS = "color-excess"
#: A catalog clump is bluer than the disk beneath it by at least this (g - r, mag).
BLUER_MARGIN_GR = 0.1


@dataclass(frozen=True)
class Definition:
    """What counts as one clump and as a catalog clump, in simulation."""

    name: str
    blend_link: float  # PSF FWHMs: clumps closer are one blend
    min_fraction: float  # of the galaxy's g light
    min_radius: float  # PSF FWHMs from the centre
    bluer_margin: float | None  # g - r below the disk's by this much (None: any color)


NEW_DEFINITION = Definition("new", MATCH_RADIUS, 0.08, 1.0, BLUER_MARGIN_GR)
OLD_DEFINITION = Definition("old", 1.0, 0.08, 1.0, None)


def find_all_evidence(cutout: Cutout, colorization: Colorization | None, kinds: Sequence[str] = EVIDENCE_KINDS,
                      psf_fwhm: float | None = None, **options: Any) -> dict[str, QTable]:
    """Every candidate of one image, once per kind of evidence (scores uninformative, none merged).

    The classifiers are fitted on every candidate; the merge of candidates
    closer than ``merge_radius`` follows the scores
    (:func:`merge_duplicates`).
    """
    options.setdefault("merge_radius", 0.0)
    catalogs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoRegionsWarning)
        for kind in kinds:
            if kind in ("predicted", COLOR_EXCESS) and colorization is None:
                raise InputError(f"{kind} evidence needs a colorization")
            if kind == COLOR_EXCESS:  # galcolor 0.1's method on the predicted color, its own shipped scores
                catalogs[kind] = find_star_forming_regions(colorization, candidates="color", min_score=0.0,
                                                           psf_fwhm=psf_fwhm, **options)
                continue
            lightness_from = colorization if colorization is not None else cutout
            data = {"predicted": colorization, "true": cutout}.get(kind, lightness_from)
            catalogs[kind] = find_star_forming_regions(
                data, candidates="light+color", color_evidence=kind != "lightness", min_score=0.0,
                psf_fwhm=psf_fwhm, calibration=RegionClassifier.uninformative(kind), **options)
    return catalogs


def clump_color_excess(galaxy: Any, truth: QTable, psf_fwhm: float) -> np.ndarray:
    """g - r of each simulated clump minus that of the disk beneath it (mag; NaN for other kinds).

    The disk's color is the median g/r flux ratio of the band images in an
    annulus 1-2.5 PSF FWHM around the clump.
    """
    names = list(galaxy.band_names)
    result = np.full(len(truth), np.nan)
    if "g" not in names or "r" not in names or not len(truth):
        return result
    g, r = galaxy.bands[names.index("g")], galaxy.bands[names.index("r")]
    rows, cols = np.indices(r.shape)
    for index, row in enumerate(truth):
        if row["kind"] != "clump":
            continue
        x, y = float(u.Quantity(row["x"]).value), float(u.Quantity(row["y"]).value)
        distance = np.hypot(cols - x, rows - y)
        ring = (distance >= psf_fwhm) & (distance <= 2.5 * psf_fwhm) & (r > 0) & (g > 0)
        flux_g, flux_r = float(u.Quantity(row["flux_g"]).value), float(u.Quantity(row["flux_r"]).value)
        if ring.sum() < 5 or flux_g <= 0 or flux_r <= 0:
            continue
        disk = -2.5 * math.log10(float(np.median(g[ring] / r[ring])))
        result[index] = -2.5 * math.log10(flux_g / flux_r) - disk
    return result


def _labels(detected: np.ndarray, truth: pd.DataFrame, unmatched_label: int) -> np.ndarray:
    """Each candidate's label from the object it matched: 1 a positive, -1 another clump (unknown), 0 anything else.

    ``unmatched_label`` for a candidate that matched nothing (0 in
    simulation, where every object is known; -1 in real galaxies).
    """
    label = np.full(len(detected), unmatched_label, dtype=np.int64)
    matched = detected >= 0
    if matched.any():
        rows = truth.iloc[detected[matched]]
        label[matched] = np.where(rows["positive"].to_numpy(), 1, np.where(rows["kind"].to_numpy() == "clump", -1, 0))
    return label


def _matched_kinds(detected: np.ndarray, truth: pd.DataFrame) -> list[str]:
    return [truth["kind"].iloc[j] if j >= 0 else "" for j in detected]


def _detections(truth_match: np.ndarray, ids: np.ndarray) -> list[int]:
    return [int(ids[i]) if i >= 0 else -1 for i in truth_match]


def _frames(key: Any, catalogs: dict[str, QTable], truth: pd.DataFrame, radius: float,
            unmatched_label: int, definition: str) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    candidate_frames, truth_frames = [], []
    for kind, catalog in catalogs.items():
        psf = float(catalog.meta["parameters"]["psf_fwhm"])
        detected, truth_match = match_catalog(catalog, truth["x"].to_numpy(), truth["y"].to_numpy(), radius)
        label = _labels(detected, truth, unmatched_label)
        if kind == COLOR_EXCESS:  # scored when found (its logistic calibration), no knot features
            frame = pd.DataFrame({"stored_score": np.asarray(catalog["score"], dtype=np.float64)})
        else:
            frame = pd.DataFrame(knot_features(catalog, kind, psf), columns=list(feature_names(kind)))
        frame.insert(0, "id", np.asarray(catalog["id"], dtype=np.int64) if len(catalog) else np.zeros(0, np.int64))
        frame.insert(0, "kind", kind)
        frame.insert(0, "image", key)
        frame["definition"] = definition
        frame["label"] = label
        frame["matched_kind"] = _matched_kinds(detected, truth)
        frame["psf_fwhm"] = psf
        for name in CANDIDATE_COLUMNS:  # the measurements, so features can be computed again
            values = catalog[name] if len(catalog) else np.zeros(0)
            frame[name] = np.asarray(getattr(values, "value", values), dtype=np.float64)
        candidate_frames.append(frame)
        rows = truth.copy()
        rows.insert(0, "kind_of_evidence", kind)
        rows.insert(0, "image", key)
        rows["definition"] = definition
        ids = np.asarray(catalog["id"], dtype=np.int64) if len(catalog) else np.zeros(0, np.int64)
        rows["detection"] = _detections(truth_match, ids)
        truth_frames.append(rows)
    return candidate_frames, truth_frames


def simulated_truth(galaxy: Any, psf_fwhm: float, definition: Definition | None = None) -> pd.DataFrame:
    """The objects of a simulated galaxy, blends resolved, and which are (catalog) clumps under ``definition``.

    One row per object (blend): ``x``, ``y``, ``kind``, ``flux_fraction``
    (of the galaxy's g light), ``delta_gr`` (g - r against the disk beneath,
    :func:`clump_color_excess`), ``r_centre_psf``, ``nearest_clump_psf``,
    ``n_members``, ``positive`` (a clump bluer than its disk) and ``catalog``
    (a positive a catalog should hold). Default :data:`NEW_DEFINITION`.
    """
    definition = definition or NEW_DEFINITION
    truth = resolve_blends(galaxy.truth, psf_fwhm, link=definition.blend_link)
    x = np.asarray(u.Quantity(truth["x"]).value, dtype=np.float64)
    y = np.asarray(u.Quantity(truth["y"]).value, dtype=np.float64)
    kinds = np.asarray(truth["kind"], dtype=str)
    excess = clump_color_excess(galaxy, truth, psf_fwhm)
    is_clump = kinds == "clump"
    blue = np.ones(len(truth), bool) if definition.bluer_margin is None else \
        np.nan_to_num(excess, nan=0.0) <= -definition.bluer_margin
    r_centre, nearest = truth_geometry(x, y, is_clump, np.shape(galaxy.bands[0]), psf_fwhm)
    fraction = np.asarray(truth["flux_fraction_g"], dtype=np.float64)
    return pd.DataFrame({"x": x, "y": y, "kind": kinds, "flux_fraction": fraction,
                         "delta_gr": excess, "r_centre_psf": r_centre, "nearest_clump_psf": nearest,
                         "n_members": np.asarray(truth["n_members"]),
                         "positive": is_clump & blue,
                         "catalog": is_clump & blue & (fraction >= definition.min_fraction)
                         & (r_centre >= definition.min_radius)})


def injected_truth(truth: QTable) -> pd.DataFrame:
    """The knots injected into a real galaxy (:func:`~galcolor.evaluation.injection.inject_knots`) as a frame.

    ``x``, ``y``, ``kind``, ``flux_fraction`` (of the galaxy's r light),
    ``delta_gr``, ``fwhm``; every injected clump is ``positive`` and
    ``catalog``, every hard negative neither.
    """
    kinds = np.asarray(truth["kind"], dtype=str)
    return pd.DataFrame({"x": np.asarray(u.Quantity(truth["x"]).value, dtype=np.float64),
                         "y": np.asarray(u.Quantity(truth["y"]).value, dtype=np.float64),
                         "kind": kinds,
                         "flux_fraction": np.asarray(truth["flux_fraction_r"], dtype=np.float64),
                         "delta_gr": np.asarray(truth["delta_gr"], dtype=np.float64),
                         "fwhm": np.asarray(u.Quantity(truth["fwhm"]).value, dtype=np.float64),
                         "positive": kinds == "clump", "catalog": kinds == "clump"})


def label_simulated(key: Any, galaxy: Any, catalogs: dict[str, QTable],
                    definitions: Sequence[Definition] = (NEW_DEFINITION, OLD_DEFINITION)
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Labelled candidates and truth of one simulated galaxy, under each definition."""
    any_catalog = next(iter(catalogs.values()))
    psf = float(any_catalog.meta["parameters"]["psf_fwhm"])
    candidate_frames, truth_frames = [], []
    for definition in definitions:
        frame = simulated_truth(galaxy, psf, definition)
        c, t = _frames(key, catalogs, frame, MATCH_RADIUS * psf, 0, definition.name)
        candidate_frames += c
        truth_frames += t
    return pd.concat(candidate_frames, ignore_index=True), pd.concat(truth_frames, ignore_index=True)


def label_injected(key: Any, truth: QTable, catalogs: dict[str, QTable]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Labelled candidates and truth of one real galaxy with injected knots.

    Matching uses the injected knots' own FWHM (1.5 of it), whatever PSF the
    finder assumed.
    """
    fwhm = float(np.median(u.Quantity(truth["fwhm"]).value)) if len(truth) else 1.0
    c, t = _frames(key, catalogs, injected_truth(truth), MATCH_RADIUS * fwhm, -1, "injected")
    return pd.concat(c, ignore_index=True), pd.concat(t, ignore_index=True)


def simulated_candidates(galaxies: Iterable[Any], colorizer: Any, *, kinds: Sequence[str] = EVIDENCE_KINDS,
                         band: str = "r", progress: bool = True, chunk: int = 16) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`label_simulated` over simulated galaxies (colorized ``chunk`` at a time)."""
    from tqdm.auto import tqdm

    galaxies = list(galaxies)
    candidates, truths = [], []
    with tqdm(total=len(galaxies), desc="simulated", unit="galaxy", disable=not progress) as bar:
        for start in range(0, len(galaxies), chunk):
            batch = galaxies[start:start + chunk]
            cutouts = [galaxy.to_cutout(band) for galaxy in batch]
            colorized = colorizer.colorize_cutouts(cutouts) if set(kinds) - {"true"} else [None] * len(cutouts)
            for offset, (galaxy, cutout, colorization) in enumerate(zip(batch, cutouts, colorized)):
                catalogs = find_all_evidence(cutout, colorization, kinds)
                c, t = label_simulated(start + offset, galaxy, catalogs)
                candidates.append(c)
                truths.append(t)
                bar.update(1)
    return pd.concat(candidates, ignore_index=True), pd.concat(truths, ignore_index=True)


#: Side of the central crop of a Galaxy Zoo frame that the injection sets use
#: (the galaxy fills the middle of the 424 px frame; a crop keeps the search fast).
INJECTION_CROP = 212


def _jpeg(rgb: np.ndarray, quality: int = 90) -> np.ndarray:
    """8-bit round trip through JPEG, as the Galaxy Zoo images were stored."""
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)).save(buffer, format="JPEG",
                                                                                   quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


@dataclass
class InjectedFrame:
    """One Galaxy Zoo frame with knots injected: what :func:`injected_candidates` searches."""

    name: str
    cutout: Cutout  # the injected composite (8 bits, JPEG), central crop: lightness and true color
    truth: QTable  # the injected knots (:func:`~galcolor.evaluation.injection.inject_knots`)
    fwhm: float  # FWHM of the injected knots (the frame's PSF, measured or drawn)
    finder_psf: float | None  # what the finder measures on the full frame's stars (None: its default)


def inject_frame(path: Any, rng: np.random.Generator, *,
                 psf_quantiles: Sequence[float] = (4.4, 6.0, 7.8, 10.3, 12.8),
                 negatives: tuple[int, int] = (1, 2)) -> InjectedFrame | None:
    """Inject knots into one real composite (see :func:`injected_candidates`); None when it has no room."""
    try:
        original = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
    except OSError:
        return None
    height, width = original.shape[:2]
    top, left = max(0, (height - INJECTION_CROP) // 2), max(0, (width - INJECTION_CROP) // 2)
    crop = (slice(top, top + INJECTION_CROP), slice(left, left + INJECTION_CROP))
    fwhm, _ = frame_psf_fwhm(original)
    if fwhm is None:
        fwhm = float(np.interp(rng.uniform(0.1, 0.9), [0.1, 0.25, 0.5, 0.75, 0.9], psf_quantiles))
    image = original[crop]
    knots = draw_clumps_and_negatives(rng, image, fwhm=fwhm, negatives=negatives)
    if not knots:
        return None
    try:
        injected, truth = inject_knots(image, knots)
    except InputError:
        return None
    name = str(getattr(path, "name", path))
    cutout = load(_jpeg(injected))
    cutout.source = f"{name} (injected)"
    measured, _ = lightness_psf_fwhm(load(_jpeg(original)).lightness)
    return InjectedFrame(name, cutout, truth, float(fwhm),
                         measured if measured is not None and measured >= 1.0 else None)


def injected_candidates(paths: Sequence[Any], colorizer: Any, *, seed: int, kinds: Sequence[str] = EVIDENCE_KINDS,
                        progress: bool = True, **injection: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inject knots into real composites and label every candidate found in them.

    For each frame (:func:`inject_frame`, one random generator seeded with
    ``seed`` for the whole sequence): its PSF is measured on its stars
    (:func:`frame_psf_fwhm`) or, without any, drawn from the Galaxy Zoo
    distribution (``psf_quantiles``: its 10, 25, 50, 75 and 90 % points,
    interpolated); 1-3 clumps (:func:`draw_knots`) and ``negatives`` (1-2)
    hard negatives (neutral to red: as many as the clumps, on average, so that
    the classifiers learn to tell them apart) are injected at that FWHM; the
    composite goes back through 8 bits and JPEG, is cropped to its central
    :data:`INJECTION_CROP` pixels and searched with the PSF the finder would
    measure itself on the full frame's stars (else its default).
    """
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    candidates, truths = [], []
    for number, path in enumerate(tqdm(list(paths), desc="injected", unit="galaxy", disable=not progress)):
        frame = inject_frame(path, rng, **injection)
        if frame is None:
            continue
        colorization = colorizer(frame.cutout) if set(kinds) - {"true"} else None
        catalogs = find_all_evidence(frame.cutout, colorization, kinds, psf_fwhm=frame.finder_psf)
        c, t = label_injected(number, frame.truth, catalogs)
        c["frame"] = frame.name
        t["frame"] = frame.name
        t["injected_fwhm"] = frame.fwhm
        candidates.append(c)
        truths.append(t)
    return pd.concat(candidates, ignore_index=True), pd.concat(truths, ignore_index=True)


def nucleus_matches(candidates: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """Which candidates are matched to a clump yet lie nearer their galaxy's centre than to it.

    A clump within a PSF or two of the nucleus blends with it, and the
    candidate found there is often the nucleus itself, matched to the clump
    beside it: in the simulated train set (seed 101 of
    ``pipelines/region_candidates.py``), 69 of the 704 true-color positives,
    61 of them redder than the disk. Such a candidate shows neither what a
    clump looks like nor what a nucleus does, so the region classifiers are
    not fitted on it (``pipelines/fit_region_classifiers.py``); the
    benchmark still counts it as it matches.

    Parameters
    ----------
    candidates : pandas.DataFrame
        Labelled candidates (``image``, ``kind``, ``definition``, ``id``,
        ``x``, ``y``, ``r_gal``), as the candidate sets hold them.
    truth : pandas.DataFrame
        Their objects (``image``, ``kind_of_evidence``, ``definition``,
        ``detection``, ``x``, ``y``).

    Returns
    -------
    numpy.ndarray of bool, shape (len(candidates),)

    Examples
    --------
    >>> import pandas as pd
    >>> candidates = pd.DataFrame({"image": [0, 0], "kind": "true", "definition": "new", "id": [1, 2],
    ...                            "x": [50.0, 56.0], "y": [50.0, 50.0], "r_gal": [0.5, 6.0]})
    >>> truth = pd.DataFrame({"image": [0], "kind_of_evidence": "true", "definition": "new",
    ...                       "detection": [1], "x": [54.0], "y": [50.0]})
    >>> nucleus_matches(candidates, truth).tolist()
    [True, False]
    """
    found = truth[truth["detection"] >= 0]
    where = {(image, evidence, definition, detection): (x, y) for image, evidence, definition, detection, x, y
             in zip(found["image"], found["kind_of_evidence"], found["definition"], found["detection"], found["x"],
                    found["y"])}
    result = np.zeros(len(candidates), dtype=bool)
    for row, (image, kind, definition, ident, x, y, r_gal) in enumerate(zip(
            candidates["image"], candidates["kind"], candidates["definition"], candidates["id"], candidates["x"],
            candidates["y"], candidates["r_gal"])):
        clump = where.get((image, kind, definition, ident))
        result[row] = clump is not None and r_gal < np.hypot(x - clump[0], y - clump[1])
    return result


def merge_duplicates(candidates: pd.DataFrame, truth: pd.DataFrame,
                     merge_radius: float = RegionParameters.merge_radius) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scored candidate sets as the finder's catalogs would hold them: duplicates merged, then matched again.

    Within each image, kind of evidence and definition, a candidate closer
    than ``merge_radius`` PSF FWHM to a higher-scoring one is dropped
    (:func:`~galcolor.regions.merged_candidates`, as
    ``find_star_forming_regions`` does), and the rest are matched to the
    truth again as the sets were built (:data:`MATCH_RADIUS` times the
    finder's PSF in simulation, the injected knots' FWHM in real galaxies):
    ``label``, ``matched_kind`` and the truth's ``detection`` follow.
    ``candidates`` needs a ``score`` column.
    """
    kept_frames, truth_frames = [], []
    truth_groups = dict(iter(truth.groupby(["image", "kind_of_evidence", "definition"], sort=False)))
    for key, group in candidates.groupby(["image", "kind", "definition"], sort=False):
        psf = float(group["psf_fwhm"].iloc[0])
        merged = merged_candidates(group["x"].to_numpy(), group["y"].to_numpy(), group["score"].to_numpy(),
                                   merge_radius * psf) if merge_radius > 0 else np.zeros(len(group), bool)
        group = group[~merged].copy()
        objects = truth_groups.pop(key, None)
        if objects is None or objects.empty:
            kept_frames.append(group)
            continue
        injected = key[2] == "injected"
        radius = MATCH_RADIUS * (float(np.median(objects["fwhm"])) if injected else psf)
        detected, truth_match = match_regions(group["x"].to_numpy(), group["y"].to_numpy(),
                                              objects["x"].to_numpy(), objects["y"].to_numpy(), radius)
        group["label"] = _labels(detected, objects, -1 if injected else 0)
        group["matched_kind"] = _matched_kinds(detected, objects)
        objects = objects.copy()
        objects["detection"] = _detections(truth_match, group["id"].to_numpy())
        kept_frames.append(group)
        truth_frames.append(objects)
    truth_frames += [frame.assign(detection=-1) for frame in truth_groups.values()]  # images without candidates
    return (pd.concat(kept_frames, ignore_index=True) if kept_frames else candidates.iloc[:0],
            pd.concat(truth_frames, ignore_index=True) if truth_frames else truth.iloc[:0])


def candidate_features(candidates: pd.DataFrame, kind: str) -> np.ndarray:
    """:func:`~galcolor.regions.knot_features` of labelled candidates, from their stored measurements."""
    result = np.zeros((len(candidates), len(feature_names(kind))))
    psf = candidates["psf_fwhm"].to_numpy(dtype=np.float64)
    for value in np.unique(psf):
        where = np.flatnonzero(psf == value)
        result[where] = knot_features(candidates.iloc[where], kind, float(value))
    return result


def score_candidates(candidates: pd.DataFrame, classifiers: dict[str, RegionClassifier]) -> pd.Series:
    """The score of each labelled candidate under the classifier of its kind of evidence."""
    scores = pd.Series(np.nan, index=candidates.index)
    if "stored_score" in candidates:
        scores = scores.where(candidates["kind"] != COLOR_EXCESS, candidates["stored_score"])
    for kind, classifier in classifiers.items():
        rows = candidates[candidates["kind"] == kind]
        if len(rows):
            scores[rows.index] = classifier(candidate_features(rows, kind))
    return scores


