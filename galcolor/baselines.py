"""Reference colorizers every network must beat.

* :class:`GreyColorizer` predicts a* = b* = 0 (the "do nothing" answer);
* :class:`LightnessLookup` predicts, for each lightness, the mean ab of the
  training pixels of that lightness (DESIGN.md: on SDSS galaxies it already
  lowers the galaxy-pixel CIEDE2000 from 10.5 to 8.2).

Both follow the ``predict(lightness) -> (ab, ab_std)`` convention of
:mod:`galcolor.models`, so the same evaluation code runs on all of them.

Examples
--------
>>> import torch
>>> from galcolor.baselines import LightnessLookup
>>> lookup = LightnessLookup(bin_width=10.0)
>>> lightness = torch.tensor([[[[5.0, 55.0]]]])
>>> ab = torch.tensor([[[[0.0, 4.0]], [[1.0, 12.0]]]])
>>> lookup.update(lightness, ab)
>>> predicted, spread = lookup.predict(torch.tensor([[[[52.0]]]]))
>>> predicted.flatten().tolist()
[4.0, 12.0]
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import torch

from .color import check_batch
from .exceptions import InputError

__all__ = ["GreyColorizer", "LightnessLookup"]


def _check_lightness(lightness: torch.Tensor) -> None:
    check_batch(lightness, "lightness", 1)


class GreyColorizer:
    """Predicts no color at all: a* = b* = 0 everywhere.

    Examples
    --------
    >>> import torch
    >>> ab, ab_std = GreyColorizer().predict(torch.full((1, 1, 2, 2), 50.0))
    >>> float(ab.abs().max()), ab.shape
    (0.0, torch.Size([1, 2, 2, 2]))
    """

    name = "grey"

    def predict(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_lightness(lightness)
        shape = (lightness.shape[0], 2) + tuple(lightness.shape[2:])
        zeros = torch.zeros(shape, dtype=lightness.dtype, device=lightness.device)
        return zeros, zeros.clone()


class LightnessLookup:
    """Mean (and spread of) ab per lightness bin, fitted on training pixels.

    Parameters
    ----------
    bin_width : float, optional
        Width of the lightness bins (default 1 L unit, 100 bins).

    Notes
    -----
    Bins that saw no training pixel predict grey. Fit with :meth:`update`
    (any number of batches) or :meth:`fit` (an iterable of items or batches
    with ``lightness``, ``ab`` and ``valid_mask``).
    """

    name = "lookup"

    def __init__(self, bin_width: float = 1.0) -> None:
        if not bin_width > 0:
            raise InputError(f"bin_width must be > 0, got {bin_width}")
        self.bin_width = float(bin_width)
        n_bins = int(np.ceil(100.0 / self.bin_width))
        self.counts = np.zeros(n_bins)
        self.sums = np.zeros((n_bins, 2))
        self.squares = np.zeros((n_bins, 2))

    def _bins(self, lightness: np.ndarray) -> np.ndarray:
        return np.clip((lightness / self.bin_width).astype(int), 0, len(self.counts) - 1)

    def update(self, lightness: torch.Tensor, ab: torch.Tensor, valid: torch.Tensor | None = None) -> None:
        """Add training pixels: lightness (B, 1, H, W), ab (B, 2, H, W), valid (B, 1, H, W)."""
        _check_lightness(lightness)
        values = lightness[:, 0].detach().cpu().numpy().ravel()
        pairs = ab.detach().cpu().numpy().transpose(0, 2, 3, 1).reshape(-1, 2).astype(np.float64)
        if valid is not None:
            keep = valid[:, 0].detach().cpu().numpy().ravel().astype(bool)
            values, pairs = values[keep], pairs[keep]
        bins = self._bins(values)
        self.counts += np.bincount(bins, minlength=len(self.counts))
        for channel in range(2):
            self.sums[:, channel] += np.bincount(bins, weights=pairs[:, channel], minlength=len(self.counts))
            self.squares[:, channel] += np.bincount(bins, weights=pairs[:, channel] ** 2,
                                                    minlength=len(self.counts))

    def fit(self, batches: Iterable[Mapping[str, torch.Tensor]]) -> "LightnessLookup":
        """Fit on items or batches (dicts with lightness, ab and valid_mask)."""
        for batch in batches:
            lightness, ab = batch["lightness"], batch["ab"]
            valid = batch.get("valid_mask")
            if lightness.ndim == 3:  # a single item
                lightness, ab = lightness[None], ab[None]
                valid = None if valid is None else valid[None]
            self.update(lightness, ab, valid)
        return self

    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean ab, std ab) per bin, shape (n_bins, 2) each."""
        count = np.maximum(self.counts, 1.0)[:, None]
        mean = self.sums / count
        variance = np.maximum(self.squares / count - mean**2, 0.0)
        return mean, np.sqrt(variance)

    def mean_at(self, lightness: np.ndarray) -> np.ndarray:
        """The mean ab of the bin of each lightness: shape ``lightness.shape + (2,)``, numpy in and out.

        Examples
        --------
        >>> import numpy as np
        >>> lookup = LightnessLookup(bin_width=50.0)
        >>> lookup.counts[:], lookup.sums[:] = [1, 2], [[1.0, 2.0], [4.0, 6.0]]
        >>> lookup.mean_at(np.array([10.0, 80.0])).tolist()
        [[1.0, 2.0], [2.0, 3.0]]
        """
        return self.tables()[0][self._bins(np.asarray(lightness, dtype=np.float64))]

    def predict(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ab, ab_std) of the bin of each pixel, both (B, 2, H, W)."""
        _check_lightness(lightness)
        mean, std = self.tables()
        bins = self._bins(lightness[:, 0].detach().cpu().numpy())
        return tuple(
            torch.as_tensor(np.moveaxis(table[bins], -1, 1), dtype=lightness.dtype, device=lightness.device)
            for table in (mean, std)
        )
