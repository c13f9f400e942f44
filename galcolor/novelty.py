"""How unlike the training images an input is, and how much wider its color uncertainty must be.

A colorizer's calibrated uncertainty (:mod:`galcolor.uncertainty`) holds for
inputs like the ones it was calibrated on: SDSS Galaxy Zoo galaxies. An
HST deep field, a near-infrared survey or a frame of saturated stars is
not one, and a model does not know it is out of its depth (on UKIDSS
images its 68 % region held 6-8 % of the true colors). galcolor measures a
few properties of what the network sees, the input at the network's scale
(:func:`input_features`):

* the light: the fraction of galaxy pixels (L > 15), their median L and
  the fraction of very bright ones (L > 70);
* the noise: the robust scatter of L about its 3 x 3 median in the sky;
* the sharpness of the structure (what the PSF and pixel scale set once
  the colorizer has brought the galaxy to its training size): the median
  absolute difference between L and L smoothed by a 1-pixel Gaussian over
  the galaxy, relative to its L.

The scale the colorizer applied is recorded (``log_scale``) but not
scored: every galaxy is brought to the training size, and what a pixel
scale then changes (an upsampled frame is blurred, a downsampled one less
noisy) is what sharpness and noise measure.

Each is compared with its range on the training galaxies
(:class:`NoveltyReference`, the 0.5-99.5 % interval); the novelty is how
far the most unusual one lies outside, in units of its interquartile
range (0 inside every range). :class:`galcolor.Colorizer` multiplies
``ab_std`` by ``1 + k * novelty`` (``k`` fitted so that images of other
surveys are covered as the training ones are, ``pipelines/calibrate_novelty.py``)
and warns once (:class:`NoveltyWarning`, a :class:`~galcolor.GalcolorWarning`)
when an input lies at least one interquartile range outside
(:data:`WARN_NOVELTY`). A survey style (:mod:`galcolor.styles`) carries its own calibrated
uncertainty and is not widened.

Examples
--------
>>> import numpy as np
>>> from galcolor.novelty import input_features
>>> y, x = np.mgrid[:64, :64]
>>> galaxy = 80 * np.exp(-np.hypot(x - 32, y - 32) / 6.0)
>>> features = input_features(galaxy, scale=1.0)
>>> sorted(features)
['bright_fraction', 'galaxy_fraction', 'galaxy_lightness', 'log_scale', 'sharpness', 'sky_noise']
>>> "log_scale" in FEATURES  # recorded, not scored
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ._filters import median3x3
from .exceptions import GalcolorWarning, InputError


class NoveltyWarning(GalcolorWarning):
    """An input is unlike the images the model was trained on; its ``ab_std`` was widened."""


__all__ = [
    "FEATURES",
    "WARN_NOVELTY",
    "NoveltyWarning",
    "input_features",
    "NoveltyReference",
    "fit_novelty_reference",
]

#: The properties of an input that are compared with the training images.
FEATURES = ("galaxy_fraction", "galaxy_lightness", "bright_fraction", "sky_noise", "sharpness")
#: Novelty above which :class:`galcolor.Colorizer` warns (the widening applies from 0).
WARN_NOVELTY = 1.0
_GALAXY_L = 15.0
_BRIGHT_L = 70.0
_MAX_SIDE = 1024


def input_features(
    lightness: np.ndarray, *, scale: float, mask: np.ndarray | None = None
) -> dict[str, float]:
    """The properties :class:`NoveltyReference` compares, of an image at the network's scale.

    Parameters
    ----------
    lightness : (H, W) array
        L as the network sees it (resampled to its scale).
    scale : float
        Network pixels per input pixel that were applied.
    mask : (H, W) bool array, optional
        Bad pixels (left out).
    """
    from scipy import ndimage

    lightness = np.nan_to_num(np.asarray(lightness, dtype=np.float64))
    if lightness.ndim != 2:
        raise InputError(f"lightness must be (H, W), got shape {lightness.shape}")
    valid = np.ones(lightness.shape, bool) if mask is None else ~np.asarray(mask, dtype=bool)
    # a large frame is judged by its central 1024 x 1024 (the filters below
    # would take seconds on a 6000 x 6000 one; the galaxy is at the centre)
    rows, columns = (
        slice(max(0, (n - _MAX_SIDE) // 2), max(0, (n - _MAX_SIDE) // 2) + _MAX_SIDE) for n in lightness.shape
    )
    lightness, valid = lightness[rows, columns], valid[rows, columns]
    galaxy = valid & (lightness > _GALAXY_L)
    sky = valid & ~galaxy
    local = lightness - median3x3(lightness, mode="nearest")
    sky_values = local[sky]
    sky_noise = (
        1.4826 * float(np.median(np.abs(sky_values - np.median(sky_values))))
        if sky_values.size >= 16
        else 0.0
    )
    detail = np.abs(lightness - ndimage.gaussian_filter(lightness, 1.0, mode="nearest"))
    n_valid = max(int(valid.sum()), 1)
    return {
        "galaxy_fraction": float(galaxy.sum() / n_valid),
        "galaxy_lightness": float(np.median(lightness[galaxy])) if galaxy.any() else 0.0,
        "bright_fraction": float((valid & (lightness > _BRIGHT_L)).sum() / n_valid),
        "sky_noise": sky_noise,
        "sharpness": float(np.median(detail[galaxy] / lightness[galaxy])) if galaxy.any() else 0.0,
        "log_scale": float(math.log10(max(float(scale), 1e-6))),
    }


@dataclass(frozen=True)
class NoveltyReference:
    """The range of :data:`FEATURES` on a model's training images, and how much novelty widens ``ab_std``.

    Attributes
    ----------
    weights_sha256 : str
    low, high : dict
        0.5 and 99.5 percentiles of each feature on the training images.
    spread : dict
        Interquartile range of each feature (the unit of novelty).
    widening : float
        ``k`` in ``ab_std * (1 + k * novelty)``.
    provenance : dict
    """

    weights_sha256: str
    low: Mapping[str, float]
    high: Mapping[str, float]
    spread: Mapping[str, float]
    widening: float
    provenance: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def score(self, features: Mapping[str, float]) -> tuple[float, str | None]:
        """(novelty, the feature farthest outside its training range); (0, None) inside every range.

        Examples
        --------
        >>> ref = NoveltyReference("0" * 64, low={"sky_noise": 0.5}, high={"sky_noise": 2.0},
        ...                        spread={"sky_noise": 0.5}, widening=0.5)
        >>> ref.score({"sky_noise": 3.0}), ref.score({"sky_noise": 1.0})
        ((2.0, 'sky_noise'), (0.0, None))
        """
        worst, name = 0.0, None
        for feature in self.low:
            value = float(features[feature])
            outside = max(0.0, value - self.high[feature], self.low[feature] - value) / max(
                self.spread[feature], 1e-9
            )
            if outside > worst:
                worst, name = outside, feature
        return worst, name

    def factor(self, novelty: float) -> float:
        """The factor ``ab_std`` is multiplied by."""
        return 1.0 + self.widening * float(novelty)

    def describe(self, features: Mapping[str, float]) -> str:
        """A sentence naming the most unusual property, for warnings."""
        novelty, name = self.score(features)
        if name is None:
            return "like the training images"
        return (
            f"{name} = {features[name]:.3g}, outside the training images' 99 % range "
            f"[{self.low[name]:.3g}, {self.high[name]:.3g}] (novelty {novelty:.2f}): ab_std widened "
            f"x{self.factor(novelty):.2f}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights_sha256": self.weights_sha256,
            "low": dict(self.low),
            "high": dict(self.high),
            "spread": dict(self.spread),
            "widening": self.widening,
            "provenance": dict(self.provenance),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NoveltyReference":
        try:
            return cls(
                weights_sha256=str(data["weights_sha256"]),
                low={k: float(v) for k, v in data["low"].items()},
                high={k: float(v) for k, v in data["high"].items()},
                spread={k: float(v) for k, v in data["spread"].items()},
                widening=float(data["widening"]),
                provenance=dict(data.get("provenance", {})),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InputError(f"not a novelty reference ({type(error).__name__}: {error})") from error


def fit_novelty_reference(
    training: Sequence[Mapping[str, float]],
    *,
    weights_sha256: str,
    widening: float = 0.0,
    provenance: dict[str, Any] | None = None,
) -> NoveltyReference:
    """The training range of each feature from the features of training images.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rows = [{"sky_noise": v} for v in rng.normal(1.0, 0.1, 1000)]
    >>> ref = fit_novelty_reference(rows, weights_sha256="0" * 64)
    >>> round(ref.low["sky_noise"], 1), round(ref.high["sky_noise"], 1)
    (0.7, 1.2)
    """
    if len(training) < 20:
        raise InputError(f"{len(training)} training images; a novelty reference needs at least 20")
    names = [name for name in FEATURES if name in training[0]]
    values = {name: np.array([row[name] for row in training], dtype=np.float64) for name in names}
    low = {name: float(np.percentile(v, 0.5)) for name, v in values.items()}
    high = {name: float(np.percentile(v, 99.5)) for name, v in values.items()}
    spread = {name: float(max(np.subtract(*np.percentile(v, [75, 25])), 1e-6)) for name, v in values.items()}
    return NoveltyReference(
        weights_sha256=weights_sha256,
        low=low,
        high=high,
        spread=spread,
        widening=float(widening),
        provenance=dict(provenance or {}),
    )
