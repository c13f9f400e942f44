"""The score of a candidate knot: boosted trees on its light and color evidence, calibrated.

A :class:`RegionClassifier` is a scikit-learn
:class:`~sklearn.ensemble.GradientBoostingClassifier` on the features of
:func:`knot_features`, whose output is made a probability by an
:class:`~sklearn.isotonic.IsotonicRegression` fitted on galaxies the trees
did not see (:func:`fit_region_classifier`). galcolor ships it as JSON (the
trees' split features, thresholds and leaf values, and the isotonic
curve) and evaluates it with numpy, so that scoring needs neither
scikit-learn nor pickles at run time.

There is one classifier per kind of evidence:

``"predicted"``
    light + the colorizer's predicted color (ships in the model's bundle:
    ``galcolor/weights/<name>/region_classifier.json``);
``"true"``
    light + the true color of a gri composite;
``"lightness"``
    the light alone (a grey image, or the ablation "does color help?").

The last two belong to the region finder and ship in
``galcolor/data/region_classifier.json``. All are fitted by
``pipelines/fit_region_classifiers.py`` on simulated galaxies and on real SDSS
galaxies with injected knots.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .._json import read_json
from ..exceptions import InputError
from ..models import bundle_for_weights, load_bundle
from .planes import psf_area

__all__ = ["LIGHT_FEATURES", "COLOR_FEATURES", "EVIDENCE_KINDS", "feature_names", "knot_features",
           "RegionClassifier", "fit_region_classifier", "load_region_classifier", "CLASSIFIER_FILE"]

#: The file (in ``galcolor/data`` and in each model bundle) that holds classifiers by kind.
CLASSIFIER_FILE = "region_classifier.json"
#: Kinds of evidence, each with its own classifier.
EVIDENCE_KINDS = ("predicted", "true", "lightness")
#: Morphological evidence, from the lightness alone.
LIGHT_FEATURES = ("log_light_significance", "log_contrast", "log_flux_fraction", "log_size_psf", "elongation",
                  "r_gal_norm", "log_area_psf", "found_in_light", "r_gal_psf", "log_galaxy_size_psf")
#: Color evidence, added for predicted and true color.
COLOR_FEATURES = ("blue_excess", "a_excess", "color_significance", "b_mean", "a_mean", "log_b_err",
                  "mirror_blue_excess", "mirror_a_excess")


def feature_names(kind: str) -> tuple[str, ...]:
    """The features a classifier of ``kind`` scores (:data:`EVIDENCE_KINDS`)."""
    if kind not in EVIDENCE_KINDS:
        raise InputError(f"evidence kind must be one of {EVIDENCE_KINDS}, got {kind!r}")
    return LIGHT_FEATURES if kind == "lightness" else LIGHT_FEATURES + COLOR_FEATURES


def knot_features(table: Mapping[str, Any], kind: str, psf_fwhm: float) -> np.ndarray:
    """The (N, n_features) features of measured candidates (a region catalog or its columns by name).

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.regions import knot_features
    >>> row = {"light_significance": [20.0], "contrast": [0.5], "flux_fraction": [0.05], "size_psf": [1.1],
    ...        "elongation": [1.2], "r_gal": [7.0], "r_gal_norm": [1.0], "area": [30.0], "origin": [1]}
    >>> knot_features(row, "lightness", psf_fwhm=3.5).round(2).tolist()
    [[1.3, -0.3, -1.3, 0.04, 1.2, 1.0, 0.49, 1.0, 2.0, 0.3]]
    """

    def column(name: str) -> np.ndarray:
        values = table[name]
        values = getattr(values, "value", values)
        return np.asarray(values, dtype=np.float64).reshape(-1)

    feature_names(kind)  # validates kind
    area_psf = column("area") / psf_area(psf_fwhm)
    r_gal, r_gal_norm = column("r_gal"), column("r_gal_norm")
    with np.errstate(invalid="ignore", divide="ignore"):
        half_light = np.where(r_gal_norm > 0, r_gal / r_gal_norm, np.nan)
    columns = [
        np.log10(np.clip(column("light_significance"), 0.1, None)),
        np.log10(np.clip(column("contrast"), 1e-3, None)),
        np.log10(np.clip(column("flux_fraction"), 1e-5, None)),
        np.log10(np.clip(column("size_psf"), 0.05, None)),
        np.clip(column("elongation"), 1.0, 10.0),
        np.clip(column("r_gal_norm"), 0.0, 10.0),
        np.log10(np.clip(area_psf, 1e-3, None)),
        (column("origin").astype(np.int64) & 1).astype(np.float64),
        np.clip(r_gal / psf_fwhm, 0.0, 50.0),  # a nucleus sits within a fraction of a FWHM
        np.log10(np.clip(half_light / psf_fwhm, 0.1, 100.0)),  # a galaxy the size of the PSF is one knot
    ]
    if kind != "lightness":
        columns += [
            column("blue_excess"),
            column("a_excess"),
            np.clip(column("significance"), -50.0, 50.0),
            column("b_mean"),
            column("a_mean"),
            np.log10(np.clip(column("b_err"), 1e-2, None)),
            column("mirror_blue_excess"),
            column("mirror_a_excess"),
        ]
    features = np.stack(columns, axis=1) if len(columns[0]) else np.zeros((0, len(columns)))
    return np.nan_to_num(features, nan=0.0, posinf=10.0, neginf=-10.0)


@dataclass(frozen=True)
class RegionClassifier:
    """Boosted trees plus an isotonic calibration: a candidate's features to a probability.

    Attributes
    ----------
    kind : {"predicted", "true", "lightness"}
    features : tuple of str
        :func:`feature_names` of ``kind``.
    init : float
        The trees' starting log-odds.
    trees : tuple of dict
        Per tree: ``feature`` (-1 at leaves), ``threshold``, ``left``,
        ``right`` and ``value`` (leaf log-odds increments, learning rate
        included).
    iso_x, iso_y : tuple of float
        Isotonic curve from the trees' log-odds to the calibrated probability.
    members : tuple of RegionClassifier
        When not empty, the classifier is their ensemble: its probability is
        the mean of theirs (each fitted and calibrated on its own draw of
        galaxies), and ``init``, ``trees`` and the isotonic curve are unused.
    provenance : dict
        How it was fitted (data, sizes, held-out metrics).
    source : str
        Where it was loaded from; a catalog's ``meta["calibration"]``.
    """

    kind: str
    features: tuple[str, ...]
    init: float
    trees: tuple[dict[str, tuple], ...]
    iso_x: tuple[float, ...]
    iso_y: tuple[float, ...]
    members: tuple["RegionClassifier", ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if tuple(self.features) != feature_names(self.kind):
            raise InputError(f"a {self.kind} classifier scores {feature_names(self.kind)}, not {self.features}")

    @functools.cached_property
    def _forest(self) -> tuple[np.ndarray, ...]:
        """The trees as (n_trees, max_nodes) arrays: feature (-1 at leaves and padding), threshold, children, value."""
        width = max((len(tree["feature"]) for tree in self.trees), default=1)

        def stack(key: str, fill: float, dtype: type) -> np.ndarray:
            out = np.full((len(self.trees), width), fill, dtype=dtype)
            for row, tree in enumerate(self.trees):
                out[row, :len(tree[key])] = tree[key]
            return out

        return (stack("feature", -1, np.int64), stack("threshold", 0.0, np.float64), stack("left", -1, np.int64),
                stack("right", -1, np.int64), stack("value", 0.0, np.float64))

    def decision(self, features: np.ndarray) -> np.ndarray:
        """The trees' log-odds for an (N, n_features) array (before calibration).

        Every tree is walked at once, one level per step (numpy alone: no
        scikit-learn at run time). For an ensemble, the mean of its members'.
        """
        if self.members:
            return np.mean([member.decision(features) for member in self.members], axis=0)
        features = np.asarray(features, dtype=np.float64).reshape(-1, len(self.features))
        # scikit-learn's trees compare float32 features with float64 thresholds
        features = features.astype(np.float32).astype(np.float64)
        if not self.trees or not len(features):
            return np.full(len(features), self.init)
        feature, threshold, left, right, value = self._forest
        trees = np.arange(len(self.trees))[None, :]
        rows = np.arange(len(features))[:, None]
        node = np.zeros((len(features), len(self.trees)), dtype=np.int64)
        while True:
            split = feature[trees, node]
            inner = split >= 0
            if not inner.any():
                break
            go_left = features[rows, np.maximum(split, 0)] <= threshold[trees, node]
            node = np.where(inner, np.where(go_left, left[trees, node], right[trees, node]), node)
        return self.init + value[trees, node].sum(axis=1)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for an (N, n_features) array of features."""
        if self.members:
            return np.mean([member(features) for member in self.members], axis=0)
        raw = self.decision(features)
        if not self.iso_x:
            return 1.0 / (1.0 + np.exp(-np.clip(raw, -50, 50)))
        return np.interp(raw, self.iso_x, self.iso_y)

    @classmethod
    def uninformative(cls, kind: str = "predicted") -> "RegionClassifier":
        """Every candidate scores 0.5 (no classifier for these weights).

        Examples
        --------
        >>> import numpy as np
        >>> from galcolor.regions import RegionClassifier, feature_names
        >>> RegionClassifier.uninformative("lightness")(np.ones((2, len(feature_names("lightness"))))).tolist()
        [0.5, 0.5]
        """
        return cls(kind=kind, features=feature_names(kind), init=0.0, trees=(), iso_x=(), iso_y=(), source="none")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the shipped format)."""
        return {"kind": self.kind, "features": list(self.features), "init": self.init,
                "trees": [{key: list(values) for key, values in tree.items()} for tree in self.trees],
                "iso_x": list(self.iso_x), "iso_y": list(self.iso_y), "provenance": self.provenance,
                **({"members": [member.to_dict() for member in self.members]} if self.members else {})}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RegionClassifier":
        """Inverse of :meth:`to_dict`."""
        try:
            trees = tuple({key: tuple(values) for key, values in tree.items()} for tree in data["trees"])
            return cls(kind=str(data["kind"]), features=tuple(data["features"]), init=float(data["init"]),
                       trees=trees, iso_x=tuple(float(v) for v in data["iso_x"]),
                       iso_y=tuple(float(v) for v in data["iso_y"]),
                       members=tuple(cls.from_dict(member) for member in data.get("members", ())),
                       provenance=dict(data.get("provenance", {})))
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"not a region classifier ({error!r})") from error


def fit_region_classifier(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, *, kind: str,
                          seed: int = 0, calibration_fraction: float = 0.3, n_estimators: int = 300,
                          max_depth: int = 3, learning_rate: float = 0.05, members: int = 1,
                          provenance: dict[str, Any] | None = None) -> RegionClassifier:
    """Fit boosted trees on some galaxies and the isotonic calibration on the others.

    With ``members`` > 1, that many such fits (seeds ``seed``,
    ``seed + 1``, ...: each its own draw of calibration galaxies and of the
    trees' subsamples) make an ensemble whose probability is the mean of
    theirs. One fit is one draw: refitted with five seeds on the region
    benchmark's sets, completeness moved by up to 0.11 and the calibration
    error on injected real galaxies was 0.056-0.067; the mean of the five
    scores had 0.037 (``benchmarks/bench_region_seeds.py``).

    Parameters
    ----------
    features : numpy.ndarray, shape (N, n_features)
        :func:`knot_features` of labelled candidates.
    labels : numpy.ndarray of bool, shape (N,)
        True for a real (simulated or injected) star-forming knot.
    groups : numpy.ndarray, shape (N,)
        The galaxy of each candidate: candidates of one galaxy are all on
        the same side of the split, so the calibration is measured on
        galaxies the trees never saw.
    kind : {"predicted", "true", "lightness"}
    seed : int, optional
    calibration_fraction : float, optional
        Share of the galaxies kept for the isotonic calibration.
    n_estimators, max_depth, learning_rate : optional
        Of :class:`~sklearn.ensemble.GradientBoostingClassifier`.
    members : int, optional
        Fits averaged (1: a single fit).

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.regions import feature_names, fit_region_classifier
    >>> rng = np.random.default_rng(0)
    >>> n = 600
    >>> features = rng.normal(size=(n, len(feature_names("lightness"))))
    >>> labels = features[:, 0] + 0.5 * rng.normal(size=n) > 0.5
    >>> model = fit_region_classifier(features, labels, np.arange(n) // 3, kind="lightness", n_estimators=50)
    >>> float(((model(features) >= 0.5) == labels).mean()) > 0.8
    True
    """
    if members > 1:
        fits = tuple(fit_region_classifier(features, labels, groups, kind=kind, seed=seed + number,
                                           calibration_fraction=calibration_fraction, n_estimators=n_estimators,
                                           max_depth=max_depth, learning_rate=learning_rate,
                                           provenance=provenance) for number in range(members))
        combined = dict(provenance or {})
        combined.update({key: fits[0].provenance[key] for key in ("n_candidates", "n_positive", "n_galaxies",
                                                                   "estimator")},
                        members=members, seeds=[seed + number for number in range(members)],
                        calibration="mean of the members' probabilities, each IsotonicRegression on its own "
                                    "held-out galaxies",
                        held_out_auc=[fit.provenance["held_out_auc"] for fit in fits])
        return RegionClassifier(kind=kind, features=feature_names(kind), init=0.0, trees=(), iso_x=(), iso_y=(),
                                members=fits, provenance=combined)
    from sklearn.ensemble import GradientBoostingClassifier  # fitting only: scoring needs numpy alone
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import roc_auc_score

    names = feature_names(kind)
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    groups = np.asarray(groups)
    if features.ndim != 2 or features.shape[1] != len(names):
        raise InputError(f"features must be (N, {len(names)}) for {kind}, got {features.shape}")
    if labels.shape != (len(features),) or groups.shape != (len(features),):
        raise InputError("labels and groups must have one value per candidate")
    if labels.all() or not labels.any():
        raise InputError("fitting needs both real knots and other candidates")
    rng = np.random.default_rng(seed)
    unique = np.unique(groups)
    held = set(rng.choice(unique, size=max(1, int(round(calibration_fraction * len(unique)))), replace=False).tolist())
    calibrate = np.asarray([group in held for group in groups])
    model = GradientBoostingClassifier(n_estimators=n_estimators, max_depth=max_depth, learning_rate=learning_rate,
                                       subsample=0.8, min_samples_leaf=20, random_state=seed)
    model.fit(features[~calibrate], labels[~calibrate])
    prior = float(model.init_.class_prior_[1])
    trees = []
    for estimator in model.estimators_[:, 0]:
        tree = estimator.tree_
        leaf = tree.children_left < 0
        trees.append({"feature": tuple(int(v) for v in np.where(leaf, -1, tree.feature)),
                      "threshold": tuple(float(v) for v in np.where(leaf, 0.0, tree.threshold)),
                      "left": tuple(int(v) for v in np.where(leaf, -1, tree.children_left)),
                      "right": tuple(int(v) for v in np.where(leaf, -1, tree.children_right)),
                      "value": tuple(float(v) * learning_rate for v in tree.value[:, 0, 0])})
    uncalibrated = RegionClassifier(kind=kind, features=names, init=float(np.log(prior / (1.0 - prior))),
                                    trees=tuple(trees), iso_x=(), iso_y=())
    check = features[:200]
    if not np.allclose(uncalibrated.decision(check), model.decision_function(check), atol=1e-6):
        raise RuntimeError("the exported trees do not reproduce scikit-learn's decision function")
    raw = uncalibrated.decision(features[calibrate])
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels[calibrate])
    held_out_auc = float(roc_auc_score(labels[calibrate], raw)) if 0 < labels[calibrate].sum() < calibrate.sum() \
        else float("nan")
    provenance = dict(provenance or {})
    provenance.update({"n_candidates": int(len(labels)), "n_positive": int(labels.sum()),
                       "n_galaxies": int(len(unique)), "n_calibration_galaxies": len(held),
                       "estimator": f"GradientBoostingClassifier(n_estimators={n_estimators}, max_depth={max_depth}, "
                                    f"learning_rate={learning_rate}, subsample=0.8, min_samples_leaf=20)",
                       "calibration": "IsotonicRegression on held-out galaxies", "seed": seed,
                       "held_out_auc": held_out_auc})
    return dataclasses.replace(uncalibrated, iso_x=tuple(float(v) for v in isotonic.X_thresholds_),
                               iso_y=tuple(float(v) for v in isotonic.y_thresholds_), provenance=provenance)



def load_region_classifier(kind: str = "predicted", path: str | Path | None = None, *,
                           weights_sha256: str | None = None) -> RegionClassifier | None:
    """The shipped classifier for one kind of evidence.

    Parameters
    ----------
    kind : {"predicted", "true", "lightness"}
    path : str or pathlib.Path, optional
        A JSON file from ``pipelines/fit_region_classifiers.py``; default: the shipped one.
    weights_sha256 : str, optional
        For predicted color, the weights that predicted it (default: the
        shipped default model's).

    Returns
    -------
    RegionClassifier or None
        None for predicted color from weights no shipped bundle holds:
        galcolor never lends one model's classifier to another.

    Examples
    --------
    >>> from galcolor.regions import load_region_classifier
    >>> load_region_classifier("lightness").kind
    'lightness'
    >>> load_region_classifier("predicted", weights_sha256="f" * 64) is None
    True
    """
    feature_names(kind)
    if path is None and kind == "predicted":
        bundle = load_bundle("default") if weights_sha256 is None else bundle_for_weights(weights_sha256)
        return None if bundle is None else _bundle_classifier(bundle.name)
    origin = str(path) if path is not None else str(resources.files("galcolor").joinpath("data", CLASSIFIER_FILE))
    return _file_classifier(origin, kind, path is None)


@functools.lru_cache(maxsize=8)  # built once per process, not once per image
def _bundle_classifier(name: str) -> RegionClassifier | None:
    data = load_bundle(name).region_classifier()
    if data is None or "predicted" not in data:
        return None
    return dataclasses.replace(RegionClassifier.from_dict(data["predicted"]), source=name)


@functools.lru_cache(maxsize=16)
def _file_classifier(origin: str, kind: str, shipped: bool) -> RegionClassifier:
    try:
        data = read_json(origin)
    except (OSError, ValueError) as error:
        raise InputError(f"{origin}: not a readable region classifier ({error})") from error
    if kind not in data:
        raise InputError(f"{origin} has no {kind} classifier")
    return dataclasses.replace(RegionClassifier.from_dict(data[kind]), source=f"galcolor ({kind})" if shipped else origin)
