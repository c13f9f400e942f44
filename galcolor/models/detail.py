"""``detail``: the full-resolution chroma path, a residual ab at the input's own pixels.

The colorizer networks run at the training geometry (``scale="auto"``
shrinks a 424 px SDSS frame to about 0.6 of its size) and the U-Net's
strided first layer halves that again, so a knot of one PSF FWHM is about
one network pixel and its color cannot come out: the ab map is upsampled
bilinearly and a compact blue knot comes out the color of its disk.
:class:`DetailRefiner` runs after the upsampling, at the cutout's own pixels:
from the lightness there, its local contrast at three scales and the coarse ab,
a few dilated convolutions predict a residual ab that is added to the coarse
one. The coarse path keeps its global context (the galaxy's color); the
refiner only adds what lies at the scale of the PSF.

Examples
--------
>>> import torch
>>> from galcolor.models.detail import DetailRefiner
>>> refiner = DetailRefiner(width=4).eval()
>>> lightness = torch.full((1, 1, 32, 32), 40.0)
>>> coarse = torch.zeros(1, 2, 32, 32)
>>> refiner(lightness, coarse).shape
torch.Size([1, 2, 32, 32])
>>> bool(torch.equal(refiner(lightness, coarse), coarse))  # untrained: the coarse ab unchanged
True
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import InputError
from .base import AB_SCALE

__all__ = ["DetailRefiner", "refine_in_bands"]

# Inputs are scaled to about unit range: L / 50 - 1 like the colorizers,
# local contrasts of L in units of 10 L, ab in units of 50 (a galaxy's
# chroma is ~12, a blue knot's excess up to ~30).
_LIGHTNESS_HALF_RANGE = 50.0
_CONTRAST_UNIT = 10.0
_AB_UNIT = 50.0


def _detail_planes(lightness: torch.Tensor, scales: Sequence[int]) -> list[torch.Tensor]:
    """L minus L averaged over ``scale`` x ``scale`` blocks and upsampled back, for each scale (band-pass planes).

    The image is padded (edge values) to a multiple of the largest scale, so
    the blocks of a band of rows that starts at a multiple of it are those of
    the whole image.
    """
    if not scales:
        return []
    height, width = lightness.shape[-2:]
    step = max(scales)
    padded = F.pad(lightness, (0, -width % step, 0, -height % step), mode="replicate")
    planes = []
    for scale in scales:
        blocks = F.avg_pool2d(padded, scale)
        smooth = F.interpolate(blocks, scale_factor=scale, mode="bilinear", align_corners=False)
        planes.append((lightness - smooth[..., :height, :width]) / _CONTRAST_UNIT)
    return planes


class DetailRefiner(nn.Module):
    """A residual ab at full resolution from L and the coarse ab.

    Input planes: L, the coarse a* and b*, and L minus L averaged over
    blocks of each of ``contrast_scales`` pixels and upsampled back (the
    detail that a network working at that scale does not see: compact
    knots stand out there against their disk). A 3x3 convolution
    (ReLU), one residual block per entry of ``dilations`` (the features plus
    the ReLU of a 3x3 convolution of them with that dilation: context
    grows, the pixel's own features stay) and a 1x1 convolution to two
    channels give the residual. The last layer
    starts at zero, so an untrained refiner returns the coarse ab unchanged
    and fine-tuning it starts from the coarse path's quality.

    Parameters
    ----------
    width : int, optional
        Channels of the hidden layers (default 8: about 20 ms for a 424 x
        424 cutout through :class:`~galcolor.Colorizer` on two CPU cores).
    dilations : sequence of int, optional
        Dilation of each hidden 3x3 convolution after the first (default
        ``(2, 4, 8)``: a receptive field of 31 pixels, twice the largest
        PSF FWHM of the SDSS Galaxy Zoo frames).
    contrast_scales : sequence of int, optional
        Block sizes, powers of 2, of the contrast planes (default ``(2, 4,
        8)``: the PSF FWHM of the SDSS Galaxy Zoo frames is 4-15 pixels).

    Attributes
    ----------
    name : str
        ``"detail"``, the ``name`` of its :meth:`config`.
    halo : int
        Pixels on each side that reach an output pixel (half the receptive
        field): :func:`refine_in_bands` overlaps its bands by this much.
    """

    name = "detail"

    def __init__(self, *, width: int = 8, dilations: Sequence[int] = (2, 4, 8),
                 contrast_scales: Sequence[int] = (2, 4, 8)) -> None:
        super().__init__()
        width = int(width)
        dilations = tuple(int(value) for value in dilations)
        scales = tuple(int(value) for value in contrast_scales)
        if width < 1:
            raise InputError(f"width must be >= 1, got {width}")
        if any(value < 1 for value in dilations):
            raise InputError(f"dilations must be positive integers, got {dilations}")
        if any(value < 2 or value & (value - 1) for value in scales):
            raise InputError(f"contrast_scales must be powers of 2 from 2 up, got {contrast_scales!r}")
        self.width, self.dilations, self.contrast_scales = width, dilations, scales
        self.first = nn.Conv2d(3 + len(scales), width, 3, padding=1)
        self.context = nn.ModuleList([nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation)
                                      for dilation in dilations])
        self.output = nn.Conv2d(width, 2, 1)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)
        # the convolutions reach 1 + sum(dilations) pixels, a contrast plane 1.5 blocks
        self.halo = 1 + sum(dilations) + (3 * max(scales, default=0) + 1) // 2
        #: bands of :func:`refine_in_bands` start at multiples of this (the largest block)
        self.alignment = max(scales, default=1)

    def config(self) -> dict:
        """Everything that rebuilds this architecture: ``DetailRefiner.from_config(r.config())``."""
        return {"name": self.name, "width": self.width, "dilations": list(self.dilations),
                "contrast_scales": list(self.contrast_scales)}

    @classmethod
    def from_config(cls, config: dict) -> "DetailRefiner":
        """The refiner a :meth:`config` describes (randomly initialised)."""
        options = {key: value for key, value in config.items() if key != "name"}
        if config.get("name", cls.name) != cls.name:
            raise InputError(f"not a {cls.name!r} config: {config!r}")
        return cls(**options)

    def describe(self) -> str:
        """A short human-readable name."""
        return f"'detail' (width {self.width}, dilations {list(self.dilations)})"

    def planes(self, lightness: torch.Tensor, coarse_ab: torch.Tensor) -> torch.Tensor:
        """The (B, 3 + len(contrast_scales), H, W) input planes (see the class docstring)."""
        contrasts = _detail_planes(lightness, self.contrast_scales)
        return torch.cat([lightness / _LIGHTNESS_HALF_RANGE - 1.0, coarse_ab / _AB_UNIT, *contrasts], dim=1)

    def forward(self, lightness: torch.Tensor, coarse_ab: torch.Tensor) -> torch.Tensor:
        """The refined ab, ``coarse_ab`` plus the residual, within ``±AB_SCALE``.

        Parameters
        ----------
        lightness : torch.Tensor, shape ``(B, 1, H, W)``
            CIELAB L in [0, 100] at the cutout's pixels.
        coarse_ab : torch.Tensor, shape ``(B, 2, H, W)``
            The colorizer network's ab, resampled to the same pixels.
        """
        if lightness.ndim != 4 or lightness.shape[1] != 1:
            raise InputError(f"lightness must have shape (B, 1, H, W), got {tuple(lightness.shape)}")
        if coarse_ab.shape != (lightness.shape[0], 2, *lightness.shape[-2:]):
            raise InputError(f"coarse_ab must have shape {(lightness.shape[0], 2, *lightness.shape[-2:])}, "
                             f"got {tuple(coarse_ab.shape)}")
        # channels-last: oneDNN's convolutions are several times faster so on a CPU
        planes = self.planes(lightness.float(), coarse_ab.float()).contiguous(memory_format=torch.channels_last)
        features = torch.relu(self.first(planes))
        for layer in self.context:  # residual blocks: each adds context, none loses the pixel's own features
            features = features + torch.relu(layer(features))
        residual = self.output(features).contiguous() * _AB_UNIT
        return (coarse_ab.float() + residual).clamp(-AB_SCALE, AB_SCALE)


def refine_in_bands(refiner: DetailRefiner, lightness: torch.Tensor, coarse_ab: torch.Tensor, *,
                    rows: int = 512) -> torch.Tensor:
    """Apply ``refiner`` to one (1, H, W) lightness and (2, H, W) ab in bands of ``rows`` rows.

    Each band is computed with :attr:`DetailRefiner.halo` rows of context on
    each side, so the result equals one pass over the whole image while the
    hidden layers of a large frame never exist all at once. Returns the
    refined (2, H, W) ab without gradients.

    Examples
    --------
    >>> import torch
    >>> refiner = DetailRefiner(width=4).eval()
    >>> torch.nn.init.normal_(refiner.output.weight, std=0.1)  # doctest: +ELLIPSIS
    Parameter containing:...
    >>> lightness, ab = torch.rand(1, 70, 40) * 100, torch.randn(2, 70, 40) * 10
    >>> whole = refiner(lightness[None], ab[None])[0]
    >>> bool(torch.allclose(refine_in_bands(refiner, lightness, ab, rows=16), whole, atol=1e-4))
    True
    """
    height = lightness.shape[-2]
    halo = refiner.halo
    out = torch.empty_like(coarse_ab, dtype=torch.float32)
    with torch.no_grad():
        for top in range(0, height, rows):
            start = max(0, top - halo) // refiner.alignment * refiner.alignment
            stop = min(height, top + rows + halo)
            band = refiner(lightness[None, :, start:stop], coarse_ab[None, :, start:stop])[0]
            out[:, top:min(height, top + rows)] = band[:, top - start:top - start + min(rows, height - top)]
    return out
