"""The score of a region: a calibrated probability from its measurements.

A logistic model of the features in :data:`SCORE_FEATURES`, fitted on
simulated galaxies whose clumps are known (:func:`fit_score_calibration`;
the shipped coefficients come from ``pipelines/calibrate_regions.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.table import QTable
from scipy import optimize

from .._json import read_json
from ..exceptions import InputError
from ..models import bundle_for_weights, load_bundle
from .planes import psf_area

__all__ = ["SCORE_FEATURES", "ScoreCalibration", "load_score_calibration", "score_features",
           "fit_score_calibration", "TRUE_COLOR_CALIBRATION_FILE"]

#: The true-color calibration of the region finder (in ``galcolor/data``);
#: predicted-color calibrations ship in each model's bundle.
TRUE_COLOR_CALIBRATION_FILE = "region_score_true.json"
#: Measurements the score is a function of (see :func:`score_features`). The
#: squared and product color terms let the score peak at the colors of
#: clumps instead of rising without end as a region gets bluer: hot
#: foreground stars are bluer than clumps and lower in a*.
SCORE_FEATURES = ("log_significance", "blue_excess", "log_area_psf", "log_flux_fraction",
                  "r_gal_norm", "b_mean", "a_mean", "b_mean_squared", "a_mean_squared", "a_b_product")


@dataclass(frozen=True)
class ScoreCalibration:
    """Logistic model that turns a region's measurements into a probability.

    ``score = 1 / (1 + exp(-(intercept + coef . (features - mean) / scale)))``
    with the features of :data:`SCORE_FEATURES`.

    Attributes
    ----------
    color : {"predicted", "true"}
        Which color the coefficients were fitted on.
    mean, scale, coef : tuple of float
        Standardisation and weights, one per feature.
    intercept : float
    provenance : dict
        How the calibration was made (seeds, number of galaxies, model).
    source : str
        Where it was loaded from (the model bundle's name, the true-color
        file, a path; ``"none"`` for :meth:`uninformative`); a catalog's
        ``meta["calibration"]`` records it.
    """

    color: str
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    features: tuple[str, ...] = SCORE_FEATURES
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)
    source: str = field(default="", compare=False)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Probabilities for an (N, n_features) array of features."""
        features = np.asarray(features, dtype=np.float64).reshape(-1, len(self.features))
        z = (features - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = self.intercept + z @ np.asarray(self.coef)
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))

    @classmethod
    def uninformative(cls, color: str = "predicted") -> "ScoreCalibration":
        """All weights 0: every region scores 0.5 (candidates before any calibration).

        Examples
        --------
        >>> import numpy as np
        >>> from galcolor.regions import SCORE_FEATURES, ScoreCalibration
        >>> ScoreCalibration.uninformative()(np.ones((2, len(SCORE_FEATURES)))).tolist()
        [0.5, 0.5]
        """
        n = len(SCORE_FEATURES)
        return cls(color=color, mean=(0.0,) * n, scale=(1.0,) * n, coef=(0.0,) * n, intercept=0.0, source="none")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the format of the shipped file)."""
        return {"color": self.color, "features": list(self.features), "mean": list(self.mean),
                "scale": list(self.scale), "coef": list(self.coef), "intercept": self.intercept,
                "provenance": self.provenance}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ScoreCalibration":
        """Inverse of :meth:`to_dict`."""
        features = tuple(data["features"])
        if features != SCORE_FEATURES:
            raise InputError(f"calibration features {features} are not galcolor's {SCORE_FEATURES}")
        # "colour": files written before galcolor settled on one spelling
        return cls(color=data.get("color", data.get("colour")), mean=tuple(data["mean"]), scale=tuple(data["scale"]),
                   coef=tuple(data["coef"]), intercept=float(data["intercept"]), features=features,
                   provenance=dict(data.get("provenance", {})))



def load_score_calibration(color: str = "predicted", path: str | Path | None = None, *,
                           weights_sha256: str | None = None) -> ScoreCalibration | None:
    """The calibration of ``score`` for predicted or true color.

    A predicted color's calibration belongs to the weights that predicted it
    and ships in their model bundle (``galcolor/weights/<name>/region_score.json``);
    the true color's belongs to the region finder alone
    (``galcolor/data/region_score_true.json``).

    Parameters
    ----------
    color : {"predicted", "true"}
        Predicted color (a :class:`~galcolor.Colorization`) or true color.
    path : str or pathlib.Path, optional
        A JSON file written by ``pipelines/calibrate_regions.py``; default:
        the shipped calibration.
    weights_sha256 : str, optional
        For predicted color: the weights that predicted it. Default: the
        shipped default model's.

    Returns
    -------
    ScoreCalibration or None
        None for predicted color from weights that no shipped bundle holds
        (a user's own training): galcolor has no calibration for them, and
        never lends another model's.

    Examples
    --------
    >>> from galcolor.regions import load_score_calibration
    >>> load_score_calibration("true").color
    'true'
    >>> load_score_calibration("predicted").source
    'default'
    >>> load_score_calibration("predicted", weights_sha256="f" * 64) is None
    True
    """
    if color not in ("predicted", "true"):
        raise InputError(f"color must be 'predicted' or 'true', got {color!r}")
    if path is not None:
        origin = str(path)
    elif color == "true":
        origin = str(resources.files("galcolor").joinpath("data", TRUE_COLOR_CALIBRATION_FILE))
    else:
        bundle = load_bundle("default") if weights_sha256 is None else bundle_for_weights(weights_sha256)
        data = None if bundle is None else bundle.region_score()
        if data is None or color not in data:
            return None
        return dataclasses.replace(ScoreCalibration.from_dict(data[color]), source=bundle.name)
    try:
        data = read_json(origin)
    except (OSError, ValueError) as error:
        raise InputError(f"{origin}: not a readable score calibration ({error})") from error
    if color not in data:
        raise InputError(f"{origin} has no calibration for {color} color")
    source = "galcolor (true color)" if path is None else origin
    return dataclasses.replace(ScoreCalibration.from_dict(data[color]), source=source)


def _features(table: QTable, psf_fwhm: float) -> np.ndarray:
    """The (N, len(SCORE_FEATURES)) feature array of a measured region table."""
    if len(table) == 0:
        return np.zeros((0, len(SCORE_FEATURES)))
    area_of_psf = psf_area(psf_fwhm)
    columns = [
        np.log10(np.clip(np.asarray(table["significance"], dtype=np.float64), 1e-3, None)),
        np.asarray(table["blue_excess"], dtype=np.float64),
        np.log10(np.asarray(u.Quantity(table["area"]).value, dtype=np.float64) / area_of_psf),
        np.log10(np.clip(np.asarray(table["flux_fraction"], dtype=np.float64), 1e-4, None)),
        np.clip(np.asarray(table["r_gal_norm"], dtype=np.float64), 0.0, 10.0),
        np.asarray(table["b_mean"], dtype=np.float64),
        np.asarray(table["a_mean"], dtype=np.float64),
    ]
    b_mean, a_mean = columns[5], columns[6]
    columns += [b_mean ** 2, a_mean ** 2, a_mean * b_mean]
    features = np.stack(columns, axis=1)
    return np.nan_to_num(features, nan=0.0, posinf=10.0, neginf=-10.0)


def score_features(table: QTable, psf_fwhm: float | None = None) -> np.ndarray:
    """The features :class:`ScoreCalibration` scores, from a region catalog.

    Parameters
    ----------
    table : astropy.table.QTable
        A catalog from :func:`find_star_forming_regions`.
    psf_fwhm : float, optional
        PSF FWHM in pixels; default: the one recorded in the catalog's
        ``parameters`` metadata.

    Returns
    -------
    numpy.ndarray, shape (N, len(SCORE_FEATURES))
    """
    if psf_fwhm is None:
        try:
            psf_fwhm = float(table.meta["parameters"]["psf_fwhm"])
        except (KeyError, TypeError) as error:
            raise InputError("the catalog records no psf_fwhm in meta['parameters']; pass psf_fwhm") from error
    return _features(table, psf_fwhm)


def fit_score_calibration(features: np.ndarray, labels: np.ndarray, *, color: str,
                          l2: float = 1e-2, provenance: dict[str, Any] | None = None) -> ScoreCalibration:
    """Fit the logistic score model to labelled candidate regions.

    Parameters
    ----------
    features : numpy.ndarray, shape (N, len(SCORE_FEATURES))
        Features of candidates (``find_star_forming_regions(...,
        min_score=0)`` on simulated galaxies, see ``pipelines/calibrate_regions.py``).
    labels : numpy.ndarray of bool, shape (N,)
        True where the candidate matched a simulated clump.
    color : {"predicted", "true"}
    l2 : float, optional
        Ridge penalty on the standardised weights (keeps the fit stable when
        two features move together).

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.regions import SCORE_FEATURES, fit_score_calibration
    >>> rng = np.random.default_rng(0)
    >>> features = rng.normal(size=(400, len(SCORE_FEATURES)))
    >>> labels = features[:, 0] + 0.3 * rng.normal(size=400) > 0
    >>> model = fit_score_calibration(features, labels, color="true")
    >>> float(((model(features) > 0.5) == labels).mean()) > 0.9
    True
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != len(SCORE_FEATURES):
        raise InputError(f"features must be (N, {len(SCORE_FEATURES)}), got {features.shape}")
    if labels.shape != (features.shape[0],):
        raise InputError(f"labels must be ({features.shape[0]},), got {labels.shape}")
    if labels.min(initial=1) == labels.max(initial=0):
        raise InputError("calibration needs both matched and unmatched candidates")
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (features - mean) / scale
    n = len(labels)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logit = theta[0] + z @ theta[1:]
        # log(1 + exp(-y*logit)) written stably.
        nll = np.logaddexp(0.0, logit) - labels * logit
        p = 1.0 / (1.0 + np.exp(-logit))
        grad = np.concatenate([[np.sum(p - labels)], z.T @ (p - labels)]) / n
        grad[1:] += l2 * theta[1:]
        return float(nll.mean() + 0.5 * l2 * np.sum(theta[1:] ** 2)), grad

    result = optimize.minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B")
    theta = result.x
    return ScoreCalibration(color=color, mean=tuple(float(v) for v in mean),
                            scale=tuple(float(v) for v in scale), coef=tuple(float(v) for v in theta[1:]),
                            intercept=float(theta[0]), provenance=dict(provenance or {}))
