"""Knots injected into training galaxies, so that the colorizer learns the color of compact knots.

Compact star-forming knots cover a tiny fraction of the pixels of SDSS
galaxies (clumpy galaxies are 3-13 % of star-forming ones; Adams et al.
2022), so a loss over all galaxy pixels learns to paint them the color of
their disk. :class:`KnotInjection` adds knots to training items the way the
region benchmark does (:mod:`galcolor.datasets.injection`: in the composite's
linear flux, PSF-sized, with a color relative to the disk beneath and a
documented flux-fraction distribution): blue star-forming clumps, and as
hard negatives neutral-to-red point sources (foreground stars, old
clusters), so that not every knot becomes blue. It marks the pixels of the
knots (``knot_mask``), which the :class:`~galcolor.training.Trainer` can
weigh more in the loss (``knot_weight``).

Examples
--------
>>> import numpy as np, torch
>>> from galcolor.color import rgb_to_lab_numpy
>>> from galcolor.io.lupton import display_from_linear
>>> from galcolor.training.knots import KnotInjection
>>> y, x = np.mgrid[:64, :64]
>>> disk = np.exp(-np.hypot(x - 32, y - 32) / 10.0)
>>> lab = rgb_to_lab_numpy(display_from_linear(np.stack([disk * 1.3, disk, disk * 0.6], -1)).astype(np.float32))
>>> item = {"lightness": torch.from_numpy(lab[..., :1]).permute(2, 0, 1),
...         "ab": torch.from_numpy(lab[..., 1:]).permute(2, 0, 1).contiguous(),
...         "galaxy_mask": torch.from_numpy(lab[None, ..., 0] > 15), "valid_mask": torch.ones(1, 64, 64, dtype=torch.bool),
...         "index": 0}
>>> out = KnotInjection(probability=1.0, fwhm=(3.0, 3.0), seed=1)(item)
>>> bool(out["knot_mask"].any()), bool(torch.equal(item["ab"], out["ab"]))  # knots added; the input kept
(True, False)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..color import lab_to_rgb_numpy, rgb_to_lab_numpy
from ..datasets.injection import draw_clumps_and_negatives, inject_knots
from ..exceptions import InputError
from ..geometry import central_galaxy_mask, near_points
from ..io.lupton import linear_from_display

__all__ = ["KnotInjection"]


class KnotInjection:
    """Inject knots into a training item (``lightness``, ``ab``, masks): a dataset transform.

    Parameters
    ----------
    probability : float, optional
        Share of the items that get knots (default 0.5); the others pass
        unchanged, so the network still sees galaxies as they are.
    fwhm : (float, float), optional
        Range of the knots' FWHM in the item's pixels, drawn log-uniformly
        (default 2.5-6: the PSF of the Galaxy Zoo frames, whose median FWHM
        is 6 px at 424 px, at the training geometry of 312 px shown in 192).
    negatives : (int, int), optional
        Range of the number of hard negatives (neutral to red point
        sources) per injected item (default 0-2); the clumps are 1-3.
    mask_radius : float, optional
        Radius, in FWHMs, of the ``knot_mask`` disk around each knot.
    seed : int, optional
        With ``(seed, epoch, index)`` seeds each item's draw (see
        :meth:`set_epoch`), whichever data-loader worker serves it.

    Notes
    -----
    The item's Lab becomes the display RGB of the composite, knots are added
    in its linear flux (:func:`~galcolor.datasets.injection.inject_knots`),
    and the result goes back to Lab. Pixels outside ``valid_mask`` keep their
    values. ``knot_mask`` (bool, ``(1, H, W)``) marks the valid pixels within
    ``mask_radius`` FWHM of a knot, clumps and hard negatives alike; an item
    without knots gets an all-False one. ``galaxy_mask`` gains the knots'
    pixels brighter than L = 15.
    """

    def __init__(self, probability: float = 0.5, fwhm: tuple[float, float] = (2.5, 6.0),
                 negatives: tuple[int, int] = (0, 2), mask_radius: float = 1.0, seed: int = 0) -> None:
        if not 0.0 <= float(probability) <= 1.0:
            raise InputError(f"probability must be in [0, 1], got {probability!r}")
        low, high = (float(value) for value in fwhm)
        if not 0.0 < low <= high:
            raise InputError(f"fwhm must be a (low, high) pair of pixels with 0 < low <= high, got {fwhm!r}")
        first, last = (int(value) for value in negatives)
        if not 0 <= first <= last:
            raise InputError(f"negatives must be a (low, high) pair of counts with 0 <= low <= high, got {negatives!r}")
        if not float(mask_radius) > 0:
            raise InputError(f"mask_radius must be positive, got {mask_radius!r}")
        self.probability = float(probability)
        self.fwhm = (low, high)
        self.negatives = (first, last)
        self.mask_radius = float(mask_radius)
        self.seed = int(seed)
        self.epoch = 0

    def options(self) -> dict[str, Any]:
        """The constructor's arguments: ``KnotInjection(**k.options())`` rebuilds ``k``."""
        return {"probability": self.probability, "fwhm": list(self.fwhm), "negatives": list(self.negatives),
                "mask_radius": self.mask_radius, "seed": self.seed}

    def set_epoch(self, epoch: int) -> None:
        """Draw the knots of epoch ``epoch`` (the :class:`~galcolor.training.Trainer` calls this)."""
        self.epoch = int(epoch)

    def __repr__(self) -> str:
        return ("KnotInjection(" + ", ".join(f"{key}={value!r}" for key, value in self.options().items()) + ")")

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        lightness = item["lightness"]
        if lightness.ndim != 3:
            raise InputError(f"KnotInjection works on one item (1, H, W), got lightness {tuple(lightness.shape)}")
        out = dict(item)
        knot_mask = torch.zeros_like(item["valid_mask"], dtype=torch.bool)
        out["knot_mask"] = knot_mask
        index = int(item.get("index", 0))
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if rng.uniform() >= self.probability:
            return out
        lab = torch.cat([lightness, item["ab"]]).permute(1, 2, 0).numpy().astype(np.float64)
        rgb = np.clip(lab_to_rgb_numpy(lab), 0.0, 1.0)
        # computed once for drawing and injecting: the composite's linear flux and its central galaxy
        linear = linear_from_display(rgb)
        galaxy = central_galaxy_mask(lab[..., 0])
        fwhm = float(math.exp(rng.uniform(math.log(self.fwhm[0]), math.log(self.fwhm[1]))))
        knots = draw_clumps_and_negatives(rng, rgb, fwhm=fwhm, negatives=self.negatives, linear=linear,
                                          galaxy=galaxy)
        if not knots:
            return out
        try:
            injected, _ = inject_knots(rgb, knots, linear=linear, galaxy=galaxy)
        except InputError:  # no disk light around a knot, no galaxy light: leave the item as it is
            return out
        new = torch.from_numpy(rgb_to_lab_numpy(injected.astype(np.float32))).permute(2, 0, 1)
        valid = item["valid_mask"]
        out["lightness"] = torch.where(valid, new[:1].to(lightness.dtype), lightness)
        out["ab"] = torch.where(valid, new[1:].to(item["ab"].dtype), item["ab"])
        near = near_points(lightness.shape[-2:], [k.x for k in knots], [k.y for k in knots],
                           [self.mask_radius * k.fwhm for k in knots])
        out["knot_mask"] = torch.from_numpy(near)[None] & valid
        out["galaxy_mask"] = item["galaxy_mask"] | (out["knot_mask"] & (out["lightness"] > 15.0))
        return out
