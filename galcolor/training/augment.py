"""Augmentations for colorizer training pairs: rotations and flips, zoom, stretch, band as lightness.

A training item (or a batch of them) is a dict of ``lightness``, ``ab``,
``galaxy_mask`` and ``valid_mask`` tensors, as served by
:class:`galcolor.datasets.ImageFolder`. Every geometric transform moves all
four together, so a pixel keeps its color and its masks wherever it lands.

* :func:`dihedral` -- the 8 rotations and flips of the square (the dihedral
  group D4). Galaxies have no preferred orientation on the sky, so all eight
  are equally good examples; they are exact pixel permutations.
* :func:`zoom` -- a small change of scale (0.9-1.1) about the centre,
  bilinear, with reflected borders so no black frame appears.
* a random **window** (``Augment(window=side)``): a square of ``side``
  pixels cut at a random place of a larger item, after the rotation and the
  zoom. Galaxy Zoo galaxies sit at the centre of their frames; trained only
  on centred crops a network learns the distance to the image border as a
  cue for where the galaxy is (and colors it accordingly), a cue that fails
  on any other framing, the full 424 px frame included. Random windows
  take the cue away.
* :func:`stretch_lightness` -- ``L' = 100 (L / 100) ** gamma``: a different
  display stretch of the same galaxy. Only L changes: the color to predict
  is the same.
* :func:`band_as_lightness` -- the lightness of one channel of the composite
  shown as grey instead of the composite's L. In SDSS gri composites the G
  channel is the asinh-stretched r band, so this teaches the model the
  inputs it will get from single-band FITS files.

:class:`Augment` draws random parameters for all of them from a
:class:`torch.Generator` and applies them, either to one item (as an
``ImageFolder(transform=...)``) or to a whole batch on any device (as the
:class:`~galcolor.training.Trainer` does).

Examples
--------
>>> import torch
>>> from galcolor.training.augment import Augment
>>> item = {"lightness": torch.rand(1, 16, 16) * 100, "ab": torch.zeros(2, 16, 16),
...         "galaxy_mask": torch.ones(1, 16, 16, dtype=torch.bool),
...         "valid_mask": torch.ones(1, 16, 16, dtype=torch.bool), "index": 3}
>>> out = Augment(seed=1)(item)
>>> out["lightness"].shape, out["galaxy_mask"].dtype, out["index"]
(torch.Size([1, 16, 16]), torch.bool, 3)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ..color import lab_to_rgb, rgb_to_lab
from ..dihedral import DIHEDRAL_ELEMENTS, dihedral, dihedral_inverse
from ..exceptions import InputError

__all__ = [
    "DIHEDRAL_ELEMENTS",
    "OPTIONAL_MASKS",
    "dihedral",
    "dihedral_inverse",
    "zoom",
    "stretch_lightness",
    "band_as_lightness",
    "Augment",
]


# The keys of a training item that hold images; everything else (``index``) passes through.
_IMAGE_KEYS = ("lightness", "ab", "galaxy_mask", "valid_mask")
#: Optional masks that move with the images when an item has them (KnotInjection's knots).
OPTIONAL_MASKS = ("knot_mask",)

# A zoomed valid mask is bilinear; a pixel stays valid only if every source
# pixel under it was valid (up to float32 rounding of the weights).
_VALID_THRESHOLD = 1.0 - 1e-4



def zoom(image: torch.Tensor, scale: torch.Tensor | float, *, mode: str = "bilinear") -> torch.Tensor:
    """Magnify images about their centre by ``scale`` (> 1 zooms in), keeping their size.

    Parameters
    ----------
    image : torch.Tensor, shape ``(B, C, H, W)``
        Floating-point images.
    scale : torch.Tensor of shape ``(B,)``, or float
        Magnification of each image. Below 1 the frame shows more sky; the
        pixels beyond the original border are its mirror image (reflection
        padding), so no artificial black frame appears.
    mode : {"bilinear", "nearest"}, optional
        Interpolation (:func:`torch.nn.functional.grid_sample`).

    Returns
    -------
    torch.Tensor, shape ``(B, C, H, W)``

    Examples
    --------
    >>> import torch
    >>> image = torch.zeros(1, 1, 8, 8)
    >>> image[..., 3:5, 3:5] = 1.0  # a 2 x 2 galaxy in the centre
    >>> (zoom(image, 2.0) > 0.5).sum().item()  # twice as wide: 4 x 4 pixels
    16
    """
    if image.ndim != 4 or not image.is_floating_point():
        raise InputError(f"image must be a float tensor of shape (B, C, H, W), got {image.dtype} "
                         f"{tuple(image.shape)}")
    batch = image.shape[0]
    scale = torch.as_tensor(scale, dtype=image.dtype, device=image.device).expand(batch)
    theta = torch.zeros(batch, 2, 3, dtype=image.dtype, device=image.device)
    theta[:, 0, 0] = 1.0 / scale
    theta[:, 1, 1] = 1.0 / scale
    grid = F.affine_grid(theta, list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, mode=mode, padding_mode="reflection", align_corners=False)


def stretch_lightness(lightness: torch.Tensor, gamma: torch.Tensor | float) -> torch.Tensor:
    """Restretch lightness: ``100 * (L / 100) ** gamma``.

    ``gamma < 1`` brightens faint outskirts (a harder stretch), ``gamma > 1``
    darkens them. L = 0 (black sky, invalid pixels) and L = 100 stay put.

    Parameters
    ----------
    lightness : torch.Tensor, shape ``(B, 1, H, W)`` or ``(1, H, W)``
        CIELAB L in [0, 100].
    gamma : torch.Tensor of shape ``(B,)``, or float
        Exponent per image.

    Returns
    -------
    torch.Tensor
        Same shape and dtype, in [0, 100].

    Examples
    --------
    >>> import torch
    >>> stretch_lightness(torch.tensor([0.0, 25.0, 100.0]), 0.5).tolist()
    [0.0, 50.0, 100.0]
    """
    gamma = torch.as_tensor(gamma, dtype=lightness.dtype, device=lightness.device)
    if gamma.ndim == 1 and lightness.ndim == 4:
        gamma = gamma.view(-1, 1, 1, 1)
    return 100.0 * (lightness / 100.0).clamp(0.0, 1.0) ** gamma


def band_as_lightness(
    lightness: torch.Tensor, ab: torch.Tensor, channel: torch.Tensor | int = 1
) -> torch.Tensor:
    """The lightness of one channel of the color image, shown as grey.

    The sRGB composite is rebuilt from (L, a*, b*) with
    :func:`galcolor.color.lab_to_rgb` (clipped to [0, 1], as an 8-bit
    composite is); channel ``channel`` is read as a grey sRGB value and
    converted back to L, exactly as :func:`galcolor.color.gray_to_lightness`
    reads grey images.

    Parameters
    ----------
    lightness : torch.Tensor, shape ``(B, 1, H, W)``
        CIELAB L in [0, 100].
    ab : torch.Tensor, shape ``(B, 2, H, W)``
        a*, b* in Lab units.
    channel : int or torch.Tensor of shape ``(B,)``, optional
        0 = R, 1 = G (default), 2 = B. In the SDSS gri composites (i -> R,
        r -> G, g -> B) the G channel is the asinh-stretched r band.

    Returns
    -------
    torch.Tensor, shape ``(B, 1, H, W)``
        The channel's grey lightness, in [0, 100].

    Examples
    --------
    >>> import torch
    >>> from galcolor.color import rgb_to_lab
    >>> orange = rgb_to_lab(torch.tensor([1.0, 0.5, 0.0]).reshape(1, 3, 1, 1))
    >>> round(float(band_as_lightness(orange[:, :1], orange[:, 1:])), 2)  # L of grey 0.5
    53.39
    """
    if lightness.ndim != 4 or lightness.shape[1] != 1:
        raise InputError(f"lightness must have shape (B, 1, H, W), got {tuple(lightness.shape)}")
    if ab.shape != (lightness.shape[0], 2) + lightness.shape[2:]:
        raise InputError(f"ab must have shape {(lightness.shape[0], 2) + tuple(lightness.shape[2:])}, "
                         f"got {tuple(ab.shape)}")
    batch, _, height, width = lightness.shape
    rgb = lab_to_rgb(torch.cat([lightness, ab], dim=1))
    channel = torch.as_tensor(channel, dtype=torch.long, device=rgb.device).expand(batch)
    grey = rgb.gather(1, channel.view(batch, 1, 1, 1).expand(batch, 1, height, width))
    # L of the grey color (v, v, v) through the one Lab implementation in galcolor.color.
    return rgb_to_lab(grey.expand(batch, 3, height, width))[:, :1].clamp(0.0, 100.0)


class Augment:
    """Random rotations/flips, zoom, lightness stretch and band-as-lightness for training pairs.

    Parameters
    ----------
    dihedral : bool, optional
        Apply one of the 8 rotations/flips, chosen uniformly (default True).
    scale : (float, float) or None, optional
        Range of the zoom factor about the centre, drawn uniformly
        (default 0.9-1.1); ``None`` switches zoom off.
    gamma : (float, float) or None, optional
        Range of the lightness stretch exponent of :func:`stretch_lightness`,
        drawn uniformly in log space (default 0.87-1.15, symmetric in log);
        ``None`` switches it off.
    band_probability : float, optional
        Probability of replacing L by :func:`band_as_lightness` (default 0.2).
    band_channels : sequence of int, optional
        Channels to choose from, uniformly, when that happens (default G only).
    window : int, optional
        Cut a square of this many pixels at a random place of each item,
        after the rotation and the zoom (default None: keep the whole item).
        Serve larger items than the network trains on, e.g. Galaxy Zoo
        frames cropped to 312 px and resized to 192 px (the shipped model's
        scale) for 128 px windows.
    seed : int, optional
        Seed of the generator used when none is passed (see Notes).

    See Also
    --------
    galcolor.datasets.ImageFolder, galcolor.training.Trainer

    Notes
    -----
    The transforms are applied in this order: rotation/flip, zoom, window,
    band as lightness, stretch. Geometric transforms move L, ab and both masks
    together; zoom interpolates L and ab bilinearly, keeps a pixel valid only
    if all pixels under it were valid, and a galaxy pixel if at least half
    were. Band as lightness and the stretch change L only; the masks keep
    marking the pixels the loss should use, from the original L.

    Randomness, for reproducible training:

    * ``augment(batch, generator=g)`` draws the parameters from ``g``
      (a CPU :class:`torch.Generator`): same generator state, same output.
    * ``augment(item)`` on one item that has an ``index`` (as
      :class:`~galcolor.datasets.ImageFolder` items do) seeds a generator
      from ``(seed, epoch, index)``: the result does not depend on which
      DataLoader worker loads the item or in which order. Call
      :meth:`set_epoch` to draw new augmentations each epoch (DataLoader
      workers that are not persistent see the change).
    * Otherwise the parameters come from an internal generator seeded with
      ``seed``.

    Parameters are always drawn for every transform, enabled or not, so
    switching one off does not change the others.

    Examples
    --------
    As the transform of a dataset, or applied to a batch (here on the CPU; a
    CUDA batch works the same, parameters are drawn on the CPU):

    >>> import torch
    >>> batch = {"lightness": torch.rand(4, 1, 16, 16) * 100, "ab": torch.randn(4, 2, 16, 16),
    ...          "galaxy_mask": torch.ones(4, 1, 16, 16, dtype=torch.bool),
    ...          "valid_mask": torch.ones(4, 1, 16, 16, dtype=torch.bool)}
    >>> augment = Augment(band_probability=0.5)
    >>> first = augment(batch, generator=torch.Generator().manual_seed(0))
    >>> again = augment(batch, generator=torch.Generator().manual_seed(0))
    >>> bool(torch.equal(first["ab"], again["ab"]))
    True
    >>> augment.sample(4, torch.Generator().manual_seed(0))["element"].tolist()
    [4, 7, 5, 0]
    """

    def __init__(
        self,
        *,
        dihedral: bool = True,
        scale: tuple[float, float] | None = (0.9, 1.1),
        gamma: tuple[float, float] | None = (0.87, 1.15),
        band_probability: float = 0.2,
        band_channels: Sequence[int] = (1,),
        window: int | None = None,
        seed: int = 0,
    ) -> None:
        self.dihedral = bool(dihedral)
        if window is not None and (isinstance(window, bool) or int(window) != window or window < 1):
            raise InputError(f"window must be a positive number of pixels or None, got {window!r}")
        self.window = None if window is None else int(window)
        self.scale = _check_range(scale, "scale")
        self.gamma = _check_range(gamma, "gamma")
        if not 0.0 <= float(band_probability) <= 1.0:
            raise InputError(f"band_probability must be in [0, 1], got {band_probability!r}")
        self.band_probability = float(band_probability)
        channels = tuple(int(c) for c in band_channels)
        if not channels or any(c not in (0, 1, 2) for c in channels):
            raise InputError(
                f"band_channels must be a non-empty sequence of 0, 1, 2 (R, G, B), got {band_channels!r}")
        self.band_channels = channels
        self.seed = int(seed)
        self.epoch = 0
        self._generator = torch.Generator().manual_seed(self.seed)

    def options(self) -> dict[str, Any]:
        """The constructor's arguments as plain values: ``Augment(**a.options())`` rebuilds ``a``.

        Examples
        --------
        >>> Augment(window=96, seed=3).options()["window"]
        96
        """
        return {"dihedral": self.dihedral, "scale": None if self.scale is None else list(self.scale),
                "gamma": None if self.gamma is None else list(self.gamma),
                "band_probability": self.band_probability, "band_channels": list(self.band_channels),
                "window": self.window, "seed": self.seed}

    def set_epoch(self, epoch: int) -> None:
        """Use the augmentations of epoch ``epoch`` for items seeded by their index."""
        self.epoch = int(epoch)

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Draw the parameters for ``batch_size`` images.

        Returns
        -------
        dict of torch.Tensor, each of shape ``(batch_size,)``
            ``element`` (int64, 0-7, see :func:`dihedral`), ``scale``
            (float32), ``gamma`` (float32), ``band`` (bool: use band as
            lightness), ``channel`` (int64), ``offset`` (float32, shape
            ``(batch_size, 2)``: where the window starts, as a fraction of
            the room along y and x; drawn only with a window).
            Switched-off transforms get their identity value.
        """
        generator = self._generator if generator is None else generator
        element = torch.randint(0, DIHEDRAL_ELEMENTS, (batch_size,), generator=generator)
        scale = torch.rand(batch_size, generator=generator)
        gamma = torch.rand(batch_size, generator=generator)
        band = torch.rand(batch_size, generator=generator) < self.band_probability
        channel_choice = torch.randint(0, len(self.band_channels), (batch_size,), generator=generator)
        if not self.dihedral:
            element.zero_()
        if self.scale is None:
            scale = torch.ones(batch_size)
        else:
            low, high = self.scale
            scale = low + (high - low) * scale
        if self.gamma is None:
            gamma = torch.ones(batch_size)
        else:
            low, high = (math.log(g) for g in self.gamma)
            gamma = torch.exp(low + (high - low) * gamma)
        channel = torch.tensor(self.band_channels)[channel_choice]
        # drawn last and only with a window: the other parameters, and those of
        # the next batches, are those an Augment without a window draws
        offset = torch.zeros(batch_size, 2) if self.window is None else torch.rand(batch_size, 2, generator=generator)
        return {"element": element, "scale": scale, "gamma": gamma, "band": band, "channel": channel,
                "offset": offset}

    def apply(self, item: dict[str, Any], params: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Apply drawn parameters (from :meth:`sample`) to a batch dict ``(B, C, H, W)``.

        Keys other than ``lightness``, ``ab``, ``galaxy_mask``,
        ``valid_mask`` and ``knot_mask`` (moved like ``galaxy_mask`` when
        present) are passed through unchanged.
        """
        _check_item(item, batched=True)
        out = dict(item)
        lightness, ab = item["lightness"], item["ab"]
        galaxy, valid = item["galaxy_mask"], item["valid_mask"]
        present = [key for key in OPTIONAL_MASKS if key in item]
        extra = [item[key] for key in present]
        device = lightness.device
        batch, _, height, width = lightness.shape

        element = params["element"]
        if bool((element != 0).any()):
            if height != width:
                raise InputError(f"rotations need square images, got {height} x {width}")
            lightness, ab, galaxy, valid, *extra = (
                _dihedral_batch(image, element) for image in (lightness, ab, galaxy, valid, *extra))

        scale = params["scale"]
        if bool((scale != 1.0).any()):
            scale = scale.to(device=device, dtype=lightness.dtype)
            lightness = zoom(lightness, scale)
            ab = zoom(ab, scale)
            valid = zoom(valid.to(lightness.dtype), scale) >= _VALID_THRESHOLD
            galaxy, *extra = ((zoom(mask.to(lightness.dtype), scale) >= 0.5) & valid for mask in (galaxy, *extra))

        if self.window is not None:
            lightness, ab, galaxy, valid, *extra = _windows((lightness, ab, galaxy, valid, *extra), self.window,
                                                            params["offset"])
            batch, _, height, width = lightness.shape

        band = params["band"]
        if bool(band.any()):
            chosen = band.to(device).view(batch, 1, 1, 1) & valid  # invalid pixels keep their L
            grey = band_as_lightness(lightness, ab, params["channel"].to(device))
            lightness = torch.where(chosen, grey, lightness)

        gamma = params["gamma"]
        if bool((gamma != 1.0).any()):
            lightness = stretch_lightness(lightness, gamma.to(device=device, dtype=lightness.dtype))

        out.update(lightness=lightness.contiguous(), ab=ab.contiguous(),
                   galaxy_mask=galaxy.contiguous(), valid_mask=valid.contiguous())
        out.update({key: mask.contiguous() for key, mask in zip(present, extra)})
        return out

    def __call__(self, item: dict[str, Any], generator: torch.Generator | None = None) -> dict[str, Any]:
        """Augment one item ``(C, H, W)`` or a batch ``(B, C, H, W)`` (see Notes of the class)."""
        batched = _check_item(item, batched=None)
        if batched:
            return self.apply(item, self.sample(item["lightness"].shape[0], generator))
        if generator is None and "index" in item:
            generator = torch.Generator().manual_seed(_item_seed(self.seed, self.epoch, int(item["index"])))
        images = _IMAGE_KEYS + OPTIONAL_MASKS
        as_batch = {key: (value[None] if key in images else value) for key, value in item.items()}
        out = self.apply(as_batch, self.sample(1, generator))
        return {key: (value[0] if key in images else value) for key, value in out.items()}

    def __repr__(self) -> str:
        return (f"Augment(dihedral={self.dihedral}, scale={self.scale}, gamma={self.gamma}, "
                f"band_probability={self.band_probability}, band_channels={self.band_channels}, "
                + (f"window={self.window}, " if self.window is not None else "") + f"seed={self.seed})")


def _windows(images: Sequence[torch.Tensor], side: int, offset: torch.Tensor) -> list[torch.Tensor]:
    """A ``side`` x ``side`` window of every image of a batch, at its ``offset`` (fractions of the room)."""
    height, width = images[0].shape[-2:]
    if side > min(height, width):
        raise InputError(f"a window of {side} px does not fit in {height} x {width} images; "
                         f"serve larger items (e.g. a larger --size) or a smaller window")
    tops = torch.round(offset[:, 0] * (height - side)).long().tolist()
    lefts = torch.round(offset[:, 1] * (width - side)).long().tolist()
    return [torch.stack([image[k, :, top:top + side, left:left + side] for k, (top, left) in
                         enumerate(zip(tops, lefts))]) for image in images]


def _dihedral_batch(image: torch.Tensor, element: torch.Tensor) -> torch.Tensor:
    """Apply element ``element[i]`` of D4 to image ``i`` of a square batch."""
    out = image.clone()
    element = element.to(image.device)
    for k in range(1, DIHEDRAL_ELEMENTS):
        chosen = (element == k).nonzero().flatten()
        if chosen.numel():
            out[chosen] = dihedral(image[chosen], k)
    return out


def _item_seed(seed: int, epoch: int, index: int) -> int:
    """A generator seed for one item, distinct for every (seed, epoch, index)."""
    # Large odd multipliers (primes) keep neighbouring indices and epochs apart.
    return ((seed * 1_000_003 + epoch) * 2_147_483_647 + index) & (2**63 - 1)


def _check_range(value: tuple[float, float] | None, name: str) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a (low, high) pair or None, got {value!r}") from None
    if not 0.0 < low <= high:
        raise InputError(f"{name} must be a (low, high) pair with 0 < low <= high, got {value!r}")
    return low, high


def _check_item(item: dict[str, Any], batched: bool | None) -> bool:
    """Check the image keys of an item; return whether it is a batch."""
    if not isinstance(item, dict):
        raise InputError(f"expected an item dict with keys {list(_IMAGE_KEYS)}, got {type(item).__name__}")
    missing = [key for key in _IMAGE_KEYS if key not in item]
    if missing:
        raise InputError(f"item is missing {missing}; an item needs {list(_IMAGE_KEYS)}")
    lightness = item["lightness"]
    if lightness.ndim not in (3, 4) or (batched and lightness.ndim != 4):
        raise InputError(f"lightness must have shape (1, H, W) or (B, 1, H, W), got {tuple(lightness.shape)}")
    is_batch = lightness.ndim == 4
    expected_channels = {"lightness": 1, "ab": 2, "galaxy_mask": 1, "valid_mask": 1}
    for key, channels in expected_channels.items():
        shape = tuple(item[key].shape)
        want = lightness.shape[:-3] + (channels,) + lightness.shape[-2:]
        if shape != tuple(want):
            raise InputError(f"{key} must have shape {tuple(want)} to match lightness, got {shape}")
    return is_batch
