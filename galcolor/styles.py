"""Survey styles: from galcolor's color convention to the way a survey renders its color images.

A galcolor model predicts the color of the SDSS Galaxy Zoo gri composites
(:data:`galcolor.io.convention.SDSS_GRI`). Other surveys render other bands
with other weights, stretches and saturation: DECaLS images are far less
saturated, HST composites use F435W-F850LP or near-infrared bands, UKIDSS
shows Y, J, K. A :class:`ColorStyle` maps the model's color (and the
pixel's lightness) to one survey's rendering and carries its own
uncertainty:

* the mapping is a robust (Huber) regression, scikit-learn's, of the
  survey's a*, b* on a polynomial in the model's a*, b* and L, or in L
  alone, or the survey's median color, whichever predicts images it has
  not seen best (cross-validated by image, :func:`fit_style`). It is fitted
  on pixels of a few dozen of the survey's own color images (their L
  colorized by the model, their color the truth); inputs are clipped to
  the range seen in fitting, so that a polynomial never extrapolates;
* the uncertainty is a :class:`~galcolor.uncertainty.ResidualTable` of the
  out-of-fold residuals, so that ``ab_std`` covers 68 % of that survey's
  colors on images the style has not seen (the model's own table is for
  SDSS).

Built-in styles (:data:`BUILTIN_STYLES`) travel with the model they were
fitted for, in its bundle (``galcolor/weights/default/styles.json``), fitted
by ``pipelines/fit_styles.py``
(:func:`galcolor.style_fitting.fit_style_from_images`) on all the images of
each survey in ``../shared/data/multisurvey``; ``benchmarks/bench_styles.py``
measures them on images they have not seen (5-fold cross-validation by
image). ``galcolor fit-style IMAGES... -o
style.json`` fits a style from any survey's color images.

Examples
--------
>>> import numpy as np
>>> from galcolor.styles import fit_style
>>> rng = np.random.default_rng(0)
>>> lightness = rng.uniform(15, 80, 20_000)
>>> ab = rng.normal(0, 10, (20_000, 2))
>>> survey_ab = 0.4 * ab + rng.normal(0, 1, ab.shape)  # a survey rendering at 40 % of the saturation
>>> style = fit_style(lightness, ab, survey_ab, name="pale", weights_sha256="0" * 64)
>>> styled, std = style.apply(np.array([50.0]), np.array([[10.0, -5.0]]))
>>> np.round(styled, 1).tolist()
[[4.0, -2.0]]
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write
from .exceptions import InputError
from .uncertainty import CHI2_2DOF, ResidualTable, fit_residual_table

__all__ = ["ColorStyle", "BUILTIN_STYLES", "MULTISURVEY_STYLES", "STYLE_MAPPINGS", "fit_style", "read_style",
           "style_pixels"]

#: Styles fitted for the default model, by survey name.
BUILTIN_STYLES = ("sdss", "decals", "gama", "goods", "candels", "ukidss")
#: The built-in style of each survey named in ``../shared/data/multisurvey/MANIFEST.csv``
#: (the images the built-in styles are fitted and measured on).
MULTISURVEY_STYLES = {"sloan": "sdss", "decals": "decals", "gama": "gama", "goods": "goods", "candels": "candels",
                      "ukidss": "ukidss"}
#: Pixels with true L above this are galaxy pixels (as in :func:`galcolor.metrics.galaxy_mask`).
_GALAXY_L = 15.0


@dataclass(frozen=True)
class ColorStyle:
    """A mapping from the model's color to one survey's rendering, with that survey's uncertainty.

    Attributes
    ----------
    name : str
    weights_sha256 : str
        The model whose colors it maps (a style is fitted to one model's errors).
    powers : tuple of (int, int, int)
        Exponents of the standardized (a*, b*, L) in each polynomial feature.
    center, scale : tuple of 3 floats
        Standardization of (a*, b*, L).
    low, high : tuple of 3 floats
        Range of the standardized inputs seen in fitting; inputs are clipped to it.
    coef : tuple of two tuples
        Regression coefficients of the survey's a* and b* on the features.
    intercept : tuple of 2 floats
    residual : ResidualTable
        Per-lightness uncertainty of the styled color.
    provenance : dict
        Images, pixels, split, library versions.
    """

    name: str
    weights_sha256: str
    powers: tuple[tuple[int, int, int], ...]
    center: tuple[float, float, float]
    scale: tuple[float, float, float]
    low: tuple[float, float, float]
    high: tuple[float, float, float]
    coef: tuple[tuple[float, ...], tuple[float, ...]]
    intercept: tuple[float, float]
    residual: ResidualTable
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if any(len(row) != len(self.powers) for row in self.coef) or len(self.coef) != 2:
            raise InputError(
                f"style {self.name!r}: {len(self.powers)} features but coefficients of shape "
                f"{[len(row) for row in self.coef]}"
            )

    def _features(self, lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
        inputs = np.stack([ab[..., 0], ab[..., 1], lightness], axis=-1).astype(np.float64)
        standardized = np.clip(
            (inputs - np.asarray(self.center)) / np.asarray(self.scale),
            np.asarray(self.low),
            np.asarray(self.high),
        )
        return _polynomial(standardized, self.powers)

    def apply(self, lightness: np.ndarray, ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The survey's a*, b* and their standard deviation for the model's a*, b*.

        Parameters
        ----------
        lightness : (...) array
            L of each pixel.
        ab : (..., 2) array
            The model's a*, b*.

        Returns
        -------
        (ab, ab_std) : two (..., 2) float32 arrays
        """
        lightness = np.asarray(lightness, dtype=np.float64)
        ab = np.asarray(ab, dtype=np.float64)
        if ab.shape != lightness.shape + (2,):
            raise InputError(
                f"style {self.name!r}: ab must have shape {lightness.shape + (2,)}, got {ab.shape}"
            )
        features = self._features(np.nan_to_num(lightness), np.nan_to_num(ab))
        styled = features @ np.asarray(self.coef, dtype=np.float64).T + np.asarray(self.intercept)
        # the table alone: it was calibrated on out-of-fold residuals, which hold every source of error
        # (adding the model's TTA spread on top over-covered: 0.80 on GAMA)
        std = self.residual.combine(lightness, np.zeros(ab.shape, dtype=np.float32))
        return styled.astype(np.float32), std.astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weights_sha256": self.weights_sha256,
            "powers": [list(p) for p in self.powers],
            "center": list(self.center),
            "scale": list(self.scale),
            "low": list(self.low),
            "high": list(self.high),
            "coef": [list(row) for row in self.coef],
            "intercept": list(self.intercept),
            "residual": self.residual.to_dict(),
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ColorStyle":
        try:
            return cls(
                name=str(data["name"]),
                weights_sha256=str(data["weights_sha256"]),
                powers=tuple(tuple(int(v) for v in p) for p in data["powers"]),
                center=tuple(float(v) for v in data["center"]),
                scale=tuple(float(v) for v in data["scale"]),
                low=tuple(float(v) for v in data["low"]),
                high=tuple(float(v) for v in data["high"]),
                coef=tuple(tuple(float(v) for v in row) for row in data["coef"]),
                intercept=tuple(float(v) for v in data["intercept"]),
                residual=ResidualTable.from_dict(data["residual"]),
                provenance=dict(data.get("provenance", {})),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"not a color style ({type(error).__name__}: {error})") from error

    @functools.cached_property
    def sha256(self) -> str:
        """Checksum of the style's JSON (what a product's metadata record)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the style as JSON (atomically)."""
        path = Path(path)
        with atomic_write(path) as handle:
            handle.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path


def read_style(path: str | os.PathLike) -> ColorStyle:
    """Read a style written by :meth:`ColorStyle.save` or ``galcolor fit-style``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from galcolor.models import load_bundle
    >>> from galcolor.styles import read_style
    >>> decals = load_bundle("default").styles()["decals"]
    >>> path = decals.save(pathlib.Path(tempfile.mkdtemp()) / "decals.json")
    >>> read_style(path).name
    'decals'
    """
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a readable style file ({error})") from error
    try:
        return ColorStyle.from_dict(data)
    except InputError as error:
        raise InputError(f"{path}: {error}") from error


def style_pixels(
    lightness: np.ndarray,
    ab: np.ndarray,
    true_ab: np.ndarray,
    valid: np.ndarray,
    *,
    rng: np.random.Generator,
    galaxy: int = 3000,
    sky: int = 1000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pixels of one image a style is fitted on: up to ``galaxy`` galaxy pixels and ``sky`` others.

    Galaxy pixels (L > 15) are what the colors are judged on; a few fainter
    ones (2 < L <= 15) keep the mapping sensible on the outskirts and sky.
    A fixed number per image: a large galaxy does not outweigh a survey's
    small ones.
    """
    flat_l = np.asarray(lightness, dtype=np.float64).ravel()
    ok = np.asarray(valid, dtype=bool).ravel() & np.isfinite(flat_l)
    chosen = []
    for inside, count in (
        (ok & (flat_l > _GALAXY_L), galaxy),
        (ok & (flat_l > 2.0) & (flat_l <= _GALAXY_L), sky),
    ):
        index = np.flatnonzero(inside)
        if index.size:
            chosen.append(rng.choice(index, size=min(count, index.size), replace=False))
    index = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.intp)
    return (
        flat_l[index],
        np.asarray(ab, dtype=np.float64).reshape(-1, 2)[index],
        np.asarray(true_ab, dtype=np.float64).reshape(-1, 2)[index],
    )


#: The mappings :func:`fit_style` chooses between: which of the standardized
#: (a*, b*, L) enter the polynomial (0, 1, 2), and its degree.
STYLE_MAPPINGS = {
    "constant": ((), 0),
    "quadratic in L": ((2,), 2),
    "linear in color and L": ((0, 1, 2), 1),
    "quadratic in color and L": ((0, 1, 2), 2),
}


def _polynomial(standardized: np.ndarray, powers: Any) -> np.ndarray:
    """(..., n_features) products of the standardized (a*, b*, L) raised to each row of ``powers``."""
    powers = np.asarray(powers, dtype=int).reshape(-1, 3)
    features = np.ones(standardized.shape[:-1] + (len(powers),))
    for k, exponents in enumerate(powers):
        for axis, exponent in enumerate(exponents):
            if exponent:
                features[..., k] *= standardized[..., axis] ** exponent
    return features


def _mapping_features(
    standardized: np.ndarray, inputs: tuple[int, ...], degree: int
) -> tuple[np.ndarray, np.ndarray]:
    """(features, powers over all three inputs) of a polynomial in the chosen standardized inputs."""
    from sklearn.preprocessing import PolynomialFeatures

    if not inputs:
        return np.zeros((len(standardized), 0)), np.zeros((0, 3), dtype=int)
    expand = PolynomialFeatures(degree=int(degree), include_bias=False).fit(standardized[:, list(inputs)])
    powers = np.zeros((len(expand.powers_), 3), dtype=int)
    powers[:, list(inputs)] = expand.powers_
    return expand.transform(standardized[:, list(inputs)]), powers


def _robust_fit(features: np.ndarray, target: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """Huber regression of each target channel: coef (2, n_features), intercept (2,).

    The median of each channel when there are no features.
    """
    from sklearn.linear_model import HuberRegressor

    if features.shape[1] == 0:
        return np.zeros((2, 0)), np.median(target, axis=0)
    coef, intercept = [], []
    for channel in range(2):
        # L-BFGS-B now and then ends "ABNORMAL" in its line search on the
        # unpenalised problem; a firmer penalty (still tiny next to the
        # ~1e4 pixels' loss) converges.
        for penalty in (1e-4, 1e-2, 1.0):
            try:
                fitted = HuberRegressor(epsilon=epsilon, alpha=penalty, max_iter=1000).fit(
                    features, target[:, channel]
                )
                break
            except ValueError as error:
                failure = error
        else:
            raise InputError(f"the style regression did not converge ({failure})")
        coef.append(fitted.coef_)
        intercept.append(fitted.intercept_)
    return np.asarray(coef), np.asarray(intercept)


def _per_image_delta_e(
    lightness: np.ndarray, predicted: np.ndarray, true_ab: np.ndarray, groups: np.ndarray
) -> float:
    """Mean over images of the mean CIEDE2000 of their galaxy pixels (the measure colors are judged by)."""
    from skimage.color import deltaE_ciede2000

    galaxy = lightness > _GALAXY_L
    difference = deltaE_ciede2000(
        np.column_stack([lightness, predicted])[galaxy], np.column_stack([lightness, true_ab])[galaxy]
    )
    labels, inverse = np.unique(groups[galaxy], return_inverse=True)
    return float(np.mean(np.bincount(inverse, weights=difference) / np.bincount(inverse)))


def _per_image_calibrated(
    table: ResidualTable,
    lightness: np.ndarray,
    predicted: np.ndarray,
    true_ab: np.ndarray,
    groups: np.ndarray,
) -> ResidualTable:
    """The table scaled so that the mean over images of the fraction of galaxy pixels it covers is 68.27 %.

    A survey's images differ in how well they are colored (a satellite
    trail, a frame of noise, a galaxy of an odd color): a table fitted on the
    pooled pixels covers the typical image more than 68 % and the odd ones
    less. Each image is one vote in every other measure of a style (the
    CIEDE2000 is averaged over images), so the coverage is made 68.27 % on
    average over images too (bisection on one factor for all bins).
    """
    from .uncertainty import COVERAGE

    galaxy = lightness > _GALAXY_L
    sigma = table.sigma_at(lightness[galaxy])
    distance = np.sum(((true_ab[galaxy] - predicted[galaxy]) / sigma) ** 2, axis=1)
    labels, inverse = np.unique(groups[galaxy], return_inverse=True)
    counts = np.bincount(inverse)

    def coverage(factor: float) -> float:
        inside = np.bincount(inverse, weights=(distance <= CHI2_2DOF * factor**2).astype(np.float64))
        return float(np.mean(inside / counts))

    low, high = 0.2, 5.0
    for _ in range(40):
        middle = math.sqrt(low * high)
        low, high = (middle, high) if coverage(middle) < COVERAGE else (low, middle)
    factor = math.sqrt(low * high)
    return dataclasses.replace(
        table,
        sigma=tuple((a * factor, b * factor) for a, b in table.sigma),
        provenance={**table.provenance, "per_image_factor": factor},
    )


def fit_style(
    lightness: np.ndarray,
    ab: np.ndarray,
    true_ab: np.ndarray,
    *,
    name: str,
    weights_sha256: str,
    groups: np.ndarray | None = None,
    epsilon: float = 1.0,
    folds: int = 4,
    max_pixels: int = 60_000,
    seed: int = 0,
    provenance: dict[str, Any] | None = None,
) -> ColorStyle:
    """Fit a style on pixels: the model's ab and L, and the survey's true ab.

    The mappings of :data:`STYLE_MAPPINGS` are tried: the survey's median
    color, a polynomial in L, and polynomials in the model's a*, b* and L
    (linear; quadratic, i.e. a linear map of the color whose gain and
    offset vary with L).
    Each mapping is a
    Huber regression (scikit-learn; robust to the satellite trails, stars
    and odd frames a survey's images hold); the candidates are scored by
    cross-validation grouped by image (``groups``) on what colors are
    judged by, the mean CIEDE2000 of each image's galaxy pixels, and the
    best is refitted on all pixels. Where the model's color says little about a
    survey's (bands far from g, r, i) the simpler mapping wins. The
    uncertainty table is fitted on the out-of-fold residuals of the chosen
    mapping and scaled to cover 68.27 % of the galaxy pixels of an image on
    average over images (:func:`_per_image_calibrated`), so that it holds
    for images the style has not seen.

    Parameters
    ----------
    lightness : (N,) array
    ab : (N, 2) array
        The model's prediction.
    true_ab : (N, 2) array
        The survey's rendering.
    name : str
    weights_sha256 : str
        The model that predicted ``ab``.
    groups : (N,) array, optional
        Image of each pixel (default: one group per 1,000 consecutive pixels).
    epsilon : float, optional
        Huber's threshold, in units of the residual scale (1.0: near the median).
    folds : int, optional
        Cross-validation folds (grouped by image).
    max_pixels : int, optional
        Pixels the regressions are fitted on (a random subset; all for the table).
    seed : int, optional
    provenance : dict, optional

    Returns
    -------
    ColorStyle
    """
    from sklearn.model_selection import GroupKFold

    lightness = np.asarray(lightness, dtype=np.float64).ravel()
    ab = np.asarray(ab, dtype=np.float64).reshape(-1, 2)
    true_ab = np.asarray(true_ab, dtype=np.float64).reshape(-1, 2)
    if not (len(lightness) == len(ab) == len(true_ab)):
        raise InputError(
            f"lightness, ab and true_ab must have as many pixels, got {len(lightness)}, {len(ab)}, "
            f"{len(true_ab)}"
        )
    groups = np.arange(len(lightness)) // 1000 if groups is None else np.asarray(groups).ravel()
    keep = np.isfinite(lightness) & np.isfinite(ab).all(axis=1) & np.isfinite(true_ab).all(axis=1)
    if keep.sum() < 1000:
        raise InputError(
            f"style {name!r}: {int(keep.sum())} usable pixels; fit on more images (>= 1000 pixels)"
        )
    lightness, ab, true_ab, groups = lightness[keep], ab[keep], true_ab[keep], groups[keep]
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise InputError(f"style {name!r}: pixels of {n_groups} image; fit on several images")
    inputs = np.column_stack([ab, lightness])
    center, scale = inputs.mean(axis=0), np.maximum(inputs.std(axis=0), 1e-6)
    standardized = (inputs - center) / scale
    rng = np.random.default_rng(seed)

    def fitted_on(
        rows: np.ndarray, mapping: tuple[tuple[int, ...], int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if rows.size > max_pixels:
            rows = rng.choice(rows, size=max_pixels, replace=False)
        features, powers = _mapping_features(standardized[rows], *mapping)
        coef, intercept = _robust_fit(features, true_ab[rows], epsilon)
        return powers, coef, intercept

    def predict(rows: np.ndarray, powers: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        return _polynomial(standardized[rows], powers) @ coef.T + intercept

    splitter = GroupKFold(n_splits=min(int(folds), n_groups))
    scores: dict[str, float] = {}
    out_of_fold: dict[str, np.ndarray] = {}
    for label, mapping in STYLE_MAPPINGS.items():
        predicted = np.zeros_like(true_ab)
        for train, test in splitter.split(standardized, groups=groups):
            predicted[test] = predict(test, *fitted_on(train, mapping))
        out_of_fold[label] = predicted
        scores[label] = _per_image_delta_e(lightness, predicted, true_ab, groups)
    chosen = min(scores, key=scores.get)
    powers, coef, intercept = fitted_on(np.arange(len(lightness)), STYLE_MAPPINGS[chosen])
    residual = fit_residual_table(
        [(lightness, out_of_fold[chosen], true_ab)],
        weights_sha256=str(weights_sha256),
        provenance={
            "fitted_on": f"out-of-fold residuals ({splitter.n_splits} folds by "
            f"image) of the {chosen!r} mapping"
        },
    )
    residual = _per_image_calibrated(residual, lightness, out_of_fold[chosen], true_ab, groups)
    import sklearn

    details = {
        "mapping": chosen,
        "cross_validated_delta_e2000": scores,
        "pixels": int(len(lightness)),
        "images": int(n_groups),
        "huber_epsilon": float(epsilon),
        "folds": int(splitter.n_splits),
        "scikit_learn": sklearn.__version__,
        **(provenance or {}),
    }
    low = standardized.min(axis=0) if len(powers) else np.zeros(3)
    high = standardized.max(axis=0) if len(powers) else np.zeros(3)
    return ColorStyle(
        name=str(name),
        weights_sha256=str(weights_sha256),
        powers=tuple(tuple(int(v) for v in row) for row in powers),
        center=tuple(float(v) for v in center),
        scale=tuple(float(v) for v in scale),
        low=tuple(float(v) for v in low),
        high=tuple(float(v) for v in high),
        coef=tuple(tuple(float(v) for v in row) for row in coef),
        intercept=tuple(float(v) for v in intercept),
        residual=residual,
        provenance=details,
    )
