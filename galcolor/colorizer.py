"""Colorize galaxy images: :func:`colorize` and the reusable :class:`Colorizer`.

How an image is colorized
-------------------------
1. The input becomes a :class:`~galcolor.Cutout` (:func:`galcolor.load`):
   CIELAB lightness L, a mask, WCS and header.
2. L is resampled to the network's scale. The shipped model was trained on
   Galaxy Zoo frames whose central 208 px were resized to 128 px, so it knows
   galaxies of a typical size in its pixels. ``scale="auto"`` measures the
   galaxy (the connected region with L > 15 at or nearest the centre) and
   resamples so that its equivalent radius becomes
   :data:`~galcolor.geometry.REFERENCE_GALAXY_RADIUS` network pixels, the median of the training
   galaxies (scaled for networks trained at another size or crop:
   :func:`~galcolor.geometry.reference_radius`). The size of an image that fits in one tile is
   then rounded to the nearest multiple of the network's stride on each side
   of at least four strides (a scale change of at most 1/8, typically a few
   per cent, like the training's scale jitter of 0.9-1.1), so that no
   padding is computed and images of the same rounded size share batched
   forward passes. A float gives network pixels per input pixel directly
   (no rounding; the image is padded to the stride instead).
3. The network predicts ab (and, for a classification head, its spread). Large
   frames are cut into overlapping tiles whose predictions are blended with
   feathered weights, so no seams show and memory stays bounded. With test-time
   augmentation (``tta=True``) the 8 rotations/flips of the input are predicted
   and averaged, and their spread is part of ``ab_std``.
4. ab and ab_std are resampled back to the input's pixel grid and joined with
   the **unchanged** full-resolution L; masked input pixels stay masked.

Examples
--------
>>> import galcolor
>>> from galcolor.io import example_hdulist
>>> result = galcolor.colorize(example_hdulist(), tta=False)
>>> result.rgb.shape, result.meta["model"]
((128, 128, 3), 'default')
"""

from __future__ import annotations

import copy
import datetime
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from astropy.io import fits

from ._memory import release_free_memory
from .colorization import Colorization
from .exceptions import InputError, warn
from .io import Cutout, load
from .devices import resolve_device
from .dihedral import dihedral, dihedral_inverse
from .geometry import SCALE_RANGE, galaxy_radius, reference_radius
from . import models
from .models import bundle_for_weights
from .models.detail import DetailRefiner, refine_in_bands
from .io.convention import SDSS_GRI
from .styles import BUILTIN_STYLES, ColorStyle, read_style
from .novelty import WARN_NOVELTY, NoveltyWarning, input_features

__all__ = ["Colorizer", "colorize", "resolve_style", "check_colorizable", "fold_batch_norm", "tile_starts",
           "DEFAULT_TILE", "DEFAULT_OVERLAP", "MIN_SIDE"]

#: Arithmetic choices of :class:`Colorizer` (``precision``).
PRECISIONS = ("auto", "float32", "bfloat16")
#: Network-resolution tile side; frames larger than this are tiled.
DEFAULT_TILE = 512
#: Overlap of neighbouring tiles, blended with feathered weights.
DEFAULT_OVERLAP = 64

#: Smallest side of an image the colorizer accepts, in pixels: a galaxy
#: needs a few PSF widths (3.5 px in SDSS) across to have a structure to
#: colorize.
MIN_SIDE = 16

# scale="auto" never makes the network image larger than this many pixels a side
# (nor zooms beyond galcolor.geometry.SCALE_RANGE).
_MAX_NETWORK_SIDE = 4096

_SINGLE_TYPES = (str, os.PathLike, np.ndarray, fits.HDUList, fits.PrimaryHDU, fits.ImageHDU,
                 fits.CompImageHDU, Cutout)


def check_colorizable(cutout: Cutout) -> None:
    """Refuse an image with nothing to colorize: smaller than :data:`MIN_SIDE`, all masked, or blank.

    Such inputs load (``galcolor info`` describes them), but a colorized
    product of a 1 x 1 or all-zero frame would be a black image written
    with exit status 0. :meth:`Colorizer.colorize_cutouts` checks every
    cutout; batch tools check each first, so that one blank cutout does not
    fail the batch it would have shared.

    Raises
    ------
    galcolor.InputError
        Naming the cutout's source and what is wrong.

    Examples
    --------
    >>> import numpy as np
    >>> import galcolor
    >>> from galcolor.colorizer import check_colorizable
    >>> check_colorizable(galcolor.load(np.zeros((32, 32))))
    Traceback (most recent call last):
    ...
    galcolor.exceptions.InputError: array input: the image is blank (every unmasked pixel has L = 0); nothing to colorize
    """
    height, width = cutout.shape
    if min(height, width) < MIN_SIDE:
        raise InputError(f"{cutout.source}: the image is {height} x {width} pixels; the colorizer needs at "
                         f"least {MIN_SIDE} x {MIN_SIDE}")
    values = cutout.lightness[~cutout.mask]
    if values.size == 0:
        raise InputError(f"{cutout.source}: every pixel is masked; nothing to colorize")
    if float(values.max()) == float(values.min()):
        raise InputError(f"{cutout.source}: the image is blank (every unmasked pixel has L = "
                         f"{float(values.min()):.3g}); nothing to colorize")


def _load_model(model: Any, device: torch.device) -> tuple[torch.nn.Module, str, str | None]:
    """(network, name, weights sha256) for a shipped name, a weights path or a network."""
    if isinstance(model, torch.nn.Module):
        info = getattr(model, "weights_info", {}) or {}
        name = str(getattr(model, "name", type(model).__name__))
        return model, name, info.get("sha256")  # not moved or switched to eval: a copy is
    if not isinstance(model, (str, os.PathLike)):
        raise InputError(f"model must be a shipped model name, a weights file or a galcolor network, "
                         f"got {type(model).__name__}")
    if isinstance(model, str) and model in models.list_pretrained():
        network = models.load_pretrained(model, map_location=str(device))
        return network.eval(), model, network.weights_info["sha256"]
    path = Path(model)
    if not path.exists():
        raise InputError(f"model {str(model)!r} is neither a shipped model "
                         f"({', '.join(models.list_pretrained())}) nor an existing weights file")
    network = models.load_weights(path, map_location=str(device))
    return network.eval(), str(path), network.weights_info["sha256"]


def _load_detail(detail: Any, bundle: Any, device: torch.device) -> tuple[DetailRefiner | None, str | None]:
    """(refiner in eval mode on ``device``, its weights' sha256) for the ``detail`` option."""
    if detail is None:
        return None, None
    if isinstance(detail, str) and detail == "auto":
        refiner = None if bundle is None else bundle.detail_refiner()
    elif isinstance(detail, DetailRefiner):
        refiner = copy.deepcopy(detail)  # the caller's module is left as it was (mode, device)
    elif isinstance(detail, (str, os.PathLike)):
        if not Path(detail).is_file():
            raise InputError(f"detail {str(detail)!r} is neither 'auto', None nor an existing weights file")
        refiner = models.load_weights(detail)
        if not isinstance(refiner, DetailRefiner):
            raise InputError(f"{detail}: holds a {type(refiner).__name__}, not a DetailRefiner")
    else:
        raise InputError(f"detail must be 'auto', None, a weights file or a DetailRefiner, "
                         f"got {type(detail).__name__}")
    if refiner is None:
        return None, None
    info = getattr(refiner, "weights_info", {}) or {}
    return refiner.eval().to(device), info.get("sha256")


def fold_batch_norm(network: torch.nn.Module) -> torch.nn.Module:
    """An inference copy of ``network`` with every Conv2d -> BatchNorm2d pair folded into the conv.

    In eval mode a batch norm is an affine map per channel, so the
    convolution before it can absorb it: one pass over the activations
    fewer, the same outputs (to float rounding). The original is untouched.

    Examples
    --------
    >>> import torch
    >>> from galcolor.models import get_model
    >>> model = get_model("unet", width=4, depth=2).eval()
    >>> folded = fold_batch_norm(model)
    >>> x = torch.rand(1, 1, 16, 16) * 100
    >>> bool(torch.allclose(folded(x), model(x), atol=1e-4))
    True
    >>> any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    False
    """
    import copy

    folded = copy.deepcopy(network).eval()
    for module in folded.modules():
        if not isinstance(module, torch.nn.Sequential):
            continue
        children = list(module.named_children())
        for (_, first), (name, second) in zip(children, children[1:]):
            if not (isinstance(first, torch.nn.Conv2d) and isinstance(second, torch.nn.BatchNorm2d)
                    and second.track_running_stats and first.groups == 1):
                continue
            scale = second.weight.detach() / torch.sqrt(second.running_var + second.eps)
            with torch.no_grad():
                first.weight.mul_(scale.reshape(-1, 1, 1, 1))
                bias = first.bias.detach() if first.bias is not None else torch.zeros_like(scale)
                new_bias = (bias - second.running_mean) * scale + second.bias.detach()
                first.bias = torch.nn.Parameter(new_bias)
            setattr(module, name, torch.nn.Identity())
    return folded


def _feather(length: int, overlap: int, at_start: bool, at_end: bool) -> torch.Tensor:
    """1-D blending weights of a tile: linear ramps over the overlap, not at frame edges."""
    weight = torch.ones(length)
    ramp = torch.arange(1, overlap + 1, dtype=torch.float32) / (overlap + 1)
    if overlap > 0 and not at_start:
        weight[:overlap] = ramp
    if overlap > 0 and not at_end:
        weight[-overlap:] = torch.minimum(weight[-overlap:], ramp.flip(0))
    return weight


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """First pixel of each tile along an axis of ``size`` pixels: tiles of ``tile`` overlapping by ``overlap``.

    The last tile ends at the edge; a side that fits in one tile is one tile.

    Examples
    --------
    >>> from galcolor.colorizer import tile_starts
    >>> tile_starts(1000, 512, 64)
    [0, 448, 488]
    >>> tile_starts(300, 512, 64)
    [0]
    """
    if size <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, size - tile, step)) + [size - tile]
    return sorted(set(starts))


class Colorizer:
    """A loaded colorizer, reused across calls: ``Colorizer(...)(source)``.

    Loading the network is the slow part of a first call; a ``Colorizer``
    keeps it, so colorizing many images never reloads weights. Call it (or
    :meth:`colorize`) with one source or a list.

    Not to be confused with :class:`galcolor.models.ColorizerNet`, the base
    class of the networks themselves.

    Parameters
    ----------
    model : str, os.PathLike or torch.nn.Module, optional
        ``"default"`` (the shipped model; see ``galcolor/weights/default/MODEL_CARD.md``),
        another name from :func:`galcolor.models.list_pretrained`, a weights
        file written by :func:`galcolor.models.save_weights` (or ``galcolor
        train``), or a network.
    device : str or torch.device, optional
        ``"auto"`` (default): CUDA when present, with bf16 autocast; else CPU.
    tta : bool, optional
        Test-time augmentation: average the 8 rotations/flips (default True;
        ``False`` is 8 times cheaper and gives no spread for a regression model).
    stretch : str or callable, optional
        How single-band flux becomes lightness, as in :func:`galcolor.load`.
    batch_size : int, optional
        Network images per forward pass (default 8 on CPU, 64 on CUDA).
    scale : "auto" or float, optional
        Network pixels per input pixel (see the module docstring).
    tile, overlap : int, optional
        Tile side and overlap in network pixels for large frames
        (default 512 and 64).
    band, hdu : optional
        Passed to :func:`galcolor.load` for file inputs.
    uncertainty : {"calibrated", "spread"}, optional
        ``"calibrated"`` (default): ``ab_std`` also includes the model's
        measured error per lightness (:mod:`galcolor.uncertainty`) when
        galcolor ships a table for the loaded weights, so that it covers
        68 % of the true colors; ``"spread"``: the TTA and classification
        spread alone.
    precision : {"auto", "float32", "bfloat16"}, optional
        Arithmetic of the network. ``"auto"`` (default): bf16 autocast on
        CUDA, float32 on CPU. ``"bfloat16"`` on a CPU with native bf16
        (AVX512-BF16 or AMX, e.g. Intel Sapphire Rapids and later) about
        halved the default network's time in a side-by-side test on the
        development CPU, with a mean ab difference from float32 of ~0.4 Lab
        units; on CPUs without native bf16 it is slower.
    progress : bool, optional
        A progress bar over the tiles of a frame that takes more than one
        batch of tiles (default True): a 6000 x 6000 frame is minutes of
        work on a CPU.
    detail : "auto", None, path or DetailRefiner, optional
        The full-resolution chroma path
        (:class:`~galcolor.models.detail.DetailRefiner`): after the
        network's ab is resampled to the cutout's own pixels, a residual ab
        computed there from L and that ab is added, so that compact knots
        a few pixels wide get their own color. ``"auto"`` (default): the
        refiner shipped with these weights, when their bundle has one;
        ``None``: the network's ab alone; or a refiner's weights file or
        the refiner itself.
    style : None, str, os.PathLike or ColorStyle, optional
        The survey rendering to give the color in (:mod:`galcolor.styles`).
        None (default): galcolor's own convention, the SDSS Galaxy Zoo gri
        composite (:data:`galcolor.io.convention.SDSS_GRI`); a built-in
        name (``"sdss"``, ``"decals"``, ``"gama"``, ``"goods"``,
        ``"candels"``, ``"ukidss"``), a style file from ``galcolor
        fit-style``, or a :class:`~galcolor.styles.ColorStyle`. ``ab_std``
        is then the style's own uncertainty table (calibrated on images of
        that survey), in place of the model's table and TTA spread.

    Examples
    --------
    >>> import galcolor
    >>> from galcolor.io import example_hdulist
    >>> colorizer = galcolor.Colorizer(tta=False)
    >>> results = colorizer([example_hdulist(seed=1), example_hdulist(seed=2)])
    >>> [result.shape for result in results]
    [(128, 128), (128, 128)]
    """

    def __init__(
        self,
        model: str | os.PathLike | torch.nn.Module = "default",
        *,
        device: str | torch.device = "auto",
        tta: bool = True,
        stretch: Any = "auto",
        batch_size: int | None = None,
        scale: str | float = "auto",
        tile: int = DEFAULT_TILE,
        overlap: int = DEFAULT_OVERLAP,
        band: str | int | None = None,
        hdu: int | str | None = None,
        uncertainty: str = "calibrated",
        precision: str = "auto",
        progress: bool = True,
        detail: str | os.PathLike | DetailRefiner | None = "auto",
        style: str | os.PathLike | ColorStyle | None = None,
    ) -> None:
        self.device = resolve_device(device)
        if precision not in PRECISIONS:
            raise InputError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        network, self.model_name, self.weights_sha256 = _load_model(model, self.device)
        if uncertainty not in ("calibrated", "spread"):
            raise InputError(f"uncertainty must be 'calibrated' or 'spread', got {uncertainty!r}")
        #: the shipped bundle of these weights (None: a user's own weights, with no calibrations)
        self.bundle = bundle_for_weights(self.weights_sha256)
        #: the per-lightness residual table added to ab_std (None: the TTA/model spread alone)
        self.residual_table = (self.bundle.residual_table() if self.bundle is not None and uncertainty == "calibrated"
                               else None)
        #: the model as given (or loaded); inference runs on a copy with batch norm folded
        self.model = network
        #: the galaxy radius in network pixels that ``scale="auto"`` aims for (:func:`~galcolor.geometry.reference_radius`)
        self.reference_radius = (self.bundle.reference_radius if self.bundle is not None
                                 else reference_radius(network))
        self.network = fold_batch_norm(network).to(self.device, memory_format=torch.channels_last)
        #: the full-resolution chroma path applied at the cutout's pixels (None: the network's ab alone)
        self.detail, self.detail_sha256 = _load_detail(detail, self.bundle, self.device)
        #: how far inputs may stray from the training images before ab_std is widened (None: not measured)
        self.novelty = (self.bundle.novelty_reference() if self.bundle is not None and uncertainty == "calibrated"
                        and style is None else None)
        self._warned_novel = False
        #: the survey style the color is given in (None: galcolor's convention, sdss-gri)
        self.style = None if style is None else resolve_style(
            style, self.bundle.name if self.bundle is not None else "default", self.weights_sha256)
        self.stride = int(getattr(self.network, "stride", 1))
        if batch_size is None:
            batch_size = 64 if self.device.type == "cuda" else 8
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        if not (scale == "auto" or (isinstance(scale, (int, float)) and scale > 0)):
            raise InputError(f"scale must be 'auto' or a positive number, got {scale!r}")
        if tile < 2 * self.stride or tile % self.stride:
            raise InputError(f"tile must be a multiple of the network stride {self.stride} "
                             f"and at least {2 * self.stride}, got {tile}")
        if not 0 <= overlap < tile // 2:
            raise InputError(f"overlap must be between 0 and tile / 2, got {overlap}")
        self.tta = bool(tta)
        self.progress = bool(progress)
        self.stretch = stretch
        self.batch_size = int(batch_size)
        self.scale = scale
        self.tile = int(tile)
        self.overlap = int(overlap)
        self.band = band
        self.hdu = hdu
        #: bf16 autocast of the network: on CUDA by default, on CPU when asked
        self.autocast = precision == "bfloat16" or (precision == "auto" and self.device.type == "cuda")
        self.precision = "bfloat16" if self.autocast else "float32"

    def __repr__(self) -> str:
        return (f"Colorizer(model={self.model_name!r}, device={str(self.device)!r}, tta={self.tta}, "
                f"scale={self.scale!r}, batch_size={self.batch_size})")

    # ------------------------------------------------------------- public API

    def __call__(self, source: Any) -> Colorization | list[Colorization]:
        return self.colorize(source)

    def colorize(self, source: Any) -> Colorization | list[Colorization]:
        """Colorize one source, or a list/iterable of sources (batched).

        Parameters
        ----------
        source : path, array, HDU, HDUList, Cutout, or an iterable of them
            Anything :func:`galcolor.load` accepts.

        Returns
        -------
        Colorization or list of Colorization
            One per source, in order.

        Raises
        ------
        galcolor.InputError, galcolor.FileFormatError
            For an input that cannot be loaded, or that has nothing to
            colorize: smaller than :data:`MIN_SIDE` pixels a side, every
            pixel masked, or blank (the message names it).
        """
        if isinstance(source, _SINGLE_TYPES):
            return self.colorize_cutouts([self._load(source)])[0]
        if not isinstance(source, Iterable):
            raise InputError(f"cannot colorize a {type(source).__name__}; give a path, array, FITS HDU, "
                             "Cutout or a list of them")
        return self.colorize_cutouts([self._load(item) for item in source])

    def colorize_cutouts(self, cutouts: Sequence[Cutout]) -> list[Colorization]:
        """Colorize loaded cutouts; cutouts of equal network size share forward passes."""
        started = time.perf_counter()
        for cutout in cutouts:
            check_colorizable(cutout)
        plans = [self._plan(cutout) for cutout in cutouts]
        predictions: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(plans)
        # group single-tile images of the same network size into batches
        groups: dict[tuple[int, int], list[int]] = {}
        for index, plan in enumerate(plans):
            height, width = plan["network_shape"]
            if height <= self.tile and width <= self.tile:
                groups.setdefault((height, width), []).append(index)
            else:
                predictions[index] = self._predict_tiled(plan["network_lightness"], cutouts[index].source)
        for indices in groups.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start:start + self.batch_size]
                batch = torch.stack([plans[index]["network_lightness"] for index in chunk])
                ab, variance = self._predict(batch)
                for offset, index in enumerate(chunk):
                    predictions[index] = (ab[offset], variance[offset])
        elapsed = time.perf_counter() - started
        results = []
        for index, (cutout, plan) in enumerate(zip(cutouts, plans)):
            prediction, predictions[index] = predictions[index], None
            assert prediction is not None
            plan["ab"], plan["variance"] = prediction
            del prediction, plan["network_lightness"]  # _finish holds the only references: it frees them as it goes
            results.append(self._finish(cutout, plan, seconds=elapsed / max(len(cutouts), 1)))
        # a batch command's heap gives its free pages back here (galcolor._memory; a no-op otherwise)
        release_free_memory()
        return results

    # ------------------------------------------------------------- internals

    def _load(self, source: Any) -> Cutout:
        if isinstance(source, Cutout):
            return source
        return load(source, band=self.band, hdu=self.hdu, stretch=self.stretch)

    def _network_scale(self, cutout: Cutout) -> float:
        height, width = cutout.shape
        if self.scale == "auto":
            radius = galaxy_radius(cutout.lightness, cutout.mask)
            scale = 1.0 if radius is None else self.reference_radius / max(radius, 1.0)
            scale = float(np.clip(scale, *SCALE_RANGE))
        else:
            scale = float(self.scale)
        return min(scale, _MAX_NETWORK_SIDE / max(height, width))

    def _network_shape(self, cutout: Cutout, scale: float) -> tuple[int, int]:
        """(H, W) of the network image; stride multiples for an auto scale (see the module docstring)."""
        height, width = cutout.shape
        shape = (max(1, round(height * scale)), max(1, round(width * scale)))
        if self.scale == "auto" and max(shape) <= self.tile:
            # sides of at least 4 strides change by at most 1/8; shorter ones are padded instead
            shape = tuple(self.stride * round(side / self.stride) if side >= 4 * self.stride else side
                          for side in shape)
        return shape

    def _plan(self, cutout: Cutout) -> dict[str, Any]:
        height, width = cutout.shape
        network_shape = self._network_shape(cutout, self._network_scale(cutout))
        # the scale actually applied (the geometric mean of the two axes')
        scale = float(np.sqrt(network_shape[0] / height * network_shape[1] / width))
        lightness = torch.from_numpy(np.where(cutout.mask, 0.0, cutout.lightness).astype(np.float32))
        if network_shape != (height, width):
            lightness = F.interpolate(lightness[None, None], size=network_shape, mode="bilinear",
                                      align_corners=False, antialias=scale < 1.0)[0]
        else:
            lightness = lightness[None]
        plan = {"scale": scale, "network_shape": network_shape, "network_lightness": lightness}
        if self.novelty is not None:
            plan["features"] = input_features(lightness[0].numpy(), scale=scale)
        return plan

    def _elements(self) -> range:
        return range(8) if self.tta else range(1)

    def _forward(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ab and its variance from the network for a batch whose H, W are stride multiples."""
        lightness = lightness.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                   enabled=self.autocast):
            ab, std = self.network.predict(lightness)
        return ab.float(), std.float().square()

    def pad_to_stride(self, lightness: torch.Tensor) -> tuple[torch.Tensor, tuple[Any, ...]]:
        """``lightness`` (..., H, W) padded to multiples of the network stride, and the window of the original.

        The padding is centred (replicated edges), so that the rotated and
        flipped copies of test-time augmentation are padded alike;
        ``output[window]`` crops a network output back to H x W.
        """
        height, width = lightness.shape[-2:]
        pad_h, pad_w = (-height) % self.stride, (-width) % self.stride
        top, left = pad_h // 2, pad_w // 2
        if pad_h or pad_w:
            lightness = F.pad(lightness, (left, pad_w - left, top, pad_h - top), mode="replicate")
        return lightness, (..., slice(top, top + height), slice(left, left + width))

    def _predict(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean ab (B, 2, H, W) and total variance over the TTA elements, on the CPU."""
        lightness, window = self.pad_to_stride(lightness)
        # Welford's running mean and sum of squared deviations: a stable TTA spread
        mean = squares = spread = None
        for count, k in enumerate(self._elements(), start=1):
            ab, variance = self._forward(dihedral(lightness, k))
            ab, variance = dihedral(ab, dihedral_inverse(k)), dihedral(variance, dihedral_inverse(k))
            if mean is None:
                mean, squares, spread = ab, torch.zeros_like(ab), variance
                continue
            delta = ab - mean
            mean = mean + delta / count
            squares = squares + delta * (ab - mean)
            spread = spread + variance
        count = len(self._elements())
        # law of total variance: the mean of the model's own variance plus the TTA spread
        variance = spread / count + squares / count
        return mean[window].cpu(), variance[window].cpu()

    def _predict_tiled(self, lightness: torch.Tensor, source: str = "") -> tuple[torch.Tensor, torch.Tensor]:
        """Predict a large (1, H, W) image in overlapping, feather-blended tiles."""
        from tqdm.auto import tqdm

        _, height, width = lightness.shape
        tile_h, tile_w = min(self.tile, height), min(self.tile, width)
        rows = tile_starts(height, tile_h, self.overlap)
        columns = tile_starts(width, tile_w, self.overlap)
        ab_sum = torch.zeros(2, height, width)
        variance_sum = torch.zeros(2, height, width)
        weight_sum = torch.zeros(1, height, width)
        windows = [(top, left) for top in rows for left in columns]
        bar = tqdm(total=len(windows), desc=f"{Path(source).name or 'image'} tiles", unit="tile", leave=False,
                   disable=not (self.progress and len(windows) > self.batch_size))
        for start in range(0, len(windows), self.batch_size):
            chunk = windows[start:start + self.batch_size]
            batch = torch.stack([lightness[:, top:top + tile_h, left:left + tile_w] for top, left in chunk])
            ab, variance = self._predict(batch)
            for (top, left), tile_ab, tile_variance in zip(chunk, ab, variance):
                weight = (_feather(tile_h, self.overlap, top == 0, top + tile_h == height)[:, None]
                          * _feather(tile_w, self.overlap, left == 0, left + tile_w == width)[None, :])
                where = (slice(None), slice(top, top + tile_h), slice(left, left + tile_w))
                ab_sum[where] += tile_ab * weight
                variance_sum[where] += tile_variance * weight
                weight_sum[where] += weight
            bar.update(len(chunk))
        bar.close()
        return ab_sum.div_(weight_sum), variance_sum.div_(weight_sum)

    def _finish(self, cutout: Cutout, plan: dict[str, Any], *, seconds: float) -> Colorization:
        """The Colorization of one cutout from its plan, whose ``ab`` and ``variance`` it takes (and frees)."""
        from ._version import __version__

        height, width = cutout.shape
        ab = plan.pop("ab")
        std = plan.pop("variance").clamp_min_(0.0).sqrt_()
        if tuple(ab.shape[-2:]) != (height, width):
            def resample(planes: torch.Tensor) -> torch.Tensor:
                return F.interpolate(planes[None], size=(height, width), mode="bilinear", align_corners=False)[0]

            if std.any():
                both = resample(torch.cat([ab, std]))
                ab, std = both[:2], both[2:]
            else:  # a regression head without TTA has no spread to resample
                ab = resample(ab)
                std = torch.zeros_like(ab)
        if self.detail is not None:
            lightness = torch.from_numpy(np.nan_to_num(cutout.lightness, nan=0.0).astype(np.float32))[None]
            ab = refine_in_bands(self.detail, lightness.to(self.device), ab.to(self.device)).cpu()
        # (H, W, 2) float32 arrays: one copy each, the (2, H, W) tensor freed before the next
        ab_map = np.ascontiguousarray(ab.permute(1, 2, 0).numpy(), dtype=np.float32)
        del ab
        std_map = np.ascontiguousarray(std.permute(1, 2, 0).numpy(), dtype=np.float32)
        del std
        if self.style is not None:  # the survey's color and its own uncertainty table
            ab_map, std_map = self.style.apply(cutout.lightness, ab_map)
        elif self.residual_table is not None:
            self.residual_table.combine(cutout.lightness, std_map, out=std_map)
        novelty, novel_feature = (0.0, None) if "features" not in plan else self.novelty.score(plan["features"])
        if novelty > 0.0:  # unlike the training images: the calibrated uncertainty does not hold as it is
            std_map *= np.float32(self.novelty.factor(novelty))
            if not self._warned_novel and novelty >= WARN_NOVELTY:
                self._warned_novel = True
                warn(f"{cutout.source}: unlike the images the model was trained on: "
                     f"{self.novelty.describe(plan['features'])} (warned once per Colorizer; "
                     "Colorization.meta['novelty'] has it for each image)", NoveltyWarning)
        ab_map[cutout.mask] = 0.0
        std_map[cutout.mask] = 0.0
        stretch = cutout.meta.get("stretch", {})
        meta = {
            "model": self.model_name,
            "weights_sha256": self.weights_sha256,
            "head": getattr(self.network, "head", None),
            "stretch": stretch.get("name") if isinstance(stretch, dict) else str(stretch),
            "tta": self.tta,
            "uncertainty": ("style" if self.style is not None
                            else "calibrated" if self.residual_table is not None else "spread"),
            "style": None if self.style is None else self.style.name,
            "style_sha256": None if self.style is None else self.style.sha256,
            "convention": SDSS_GRI.name,
            "novelty": None if "features" not in plan else round(novelty, 4),
            "novelty_feature": novel_feature,
            "device": str(self.device),
            "precision": self.precision,
            "detail": (self.detail_sha256 or "in memory") if self.detail is not None else None,
            "scale": plan["scale"],
            "network_shape": list(plan["network_shape"]),
            "tiles": max(1, len(tile_starts(plan["network_shape"][0], self.tile, self.overlap))
                         * len(tile_starts(plan["network_shape"][1], self.tile, self.overlap))),
            "band": cutout.band,
            "input_format": cutout.meta.get("format"),
            "galcolor_version": __version__,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "seconds": seconds,
        }
        return Colorization(lightness=cutout.lightness.copy(), ab=ab_map, ab_std=std_map,
                            mask=cutout.mask.copy(), wcs=cutout.wcs, header=cutout.header,
                            source=cutout.source, meta=meta)


def resolve_style(style: str | os.PathLike | ColorStyle, model: str = "default",
                  weights_sha256: str | None = None) -> ColorStyle:
    """A style from a built-in name, a file or itself, checked against the weights it will style.

    Parameters
    ----------
    style : str, os.PathLike or ColorStyle
        A name of :data:`BUILTIN_STYLES` (from the shipped bundle of
        ``model``), a style file, or a style.
    model : str, optional
        Shipped model whose bundle holds the built-in styles.
    weights_sha256 : str, optional
        The weights that will be styled: a style fitted for other weights
        is refused (its mapping corrects another model's errors).

    Examples
    --------
    >>> from galcolor.colorizer import resolve_style
    >>> resolve_style("ukidss").name
    'ukidss'
    """
    if isinstance(style, ColorStyle):
        resolved = style
    elif isinstance(style, str) and style in BUILTIN_STYLES:
        styles = models.load_bundle(model).styles()
        if style not in styles:
            raise InputError(f"the {model!r} bundle has no {style!r} style; it has {sorted(styles)}")
        resolved = styles[style]
    elif Path(style).suffix.lower() == ".json" or Path(style).is_file():
        resolved = read_style(style)
    else:
        raise InputError(f"unknown style {style!r}: a built-in name {list(BUILTIN_STYLES)} or a style JSON file")
    if weights_sha256 is not None and resolved.weights_sha256 != weights_sha256:
        raise InputError(f"style {resolved.name!r} was fitted for weights {resolved.weights_sha256[:16]}…, not for "
                         f"these weights {weights_sha256[:16]}…; fit one for them (galcolor fit-style)")
    return resolved


_CACHE: dict[tuple[Any, ...], Colorizer] = {}


def colorize(
    source: Any,
    *,
    model: str | os.PathLike | torch.nn.Module = "default",
    device: str | torch.device = "auto",
    tta: bool = True,
    stretch: Any = "auto",
    batch_size: int | None = None,
    scale: str | float = "auto",
    band: str | int | None = None,
    hdu: int | str | None = None,
    precision: str = "auto",
    style: str | os.PathLike | ColorStyle | None = None,
) -> Colorization | list[Colorization]:
    """Colorize a galaxy image (or a list of them) with galcolor's network.

    Parameters
    ----------
    source : path, array, FITS HDU/HDUList, Cutout, or an iterable of them
        Anything :func:`galcolor.load` accepts; a list or other iterable
        returns a list, batched through the network.
    model : str, os.PathLike or torch.nn.Module, optional
        ``"default"`` (shipped), a weights file, or a network.
    device : str, optional
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    tta : bool, optional
        Average the 8 rotations/flips (default True); their spread enters ``ab_std``.
    stretch : str or callable, optional
        Flux to lightness for single-band data, as in :func:`galcolor.load`.
    batch_size : int, optional
        Network images per forward pass.
    scale : "auto" or float, optional
        Network pixels per input pixel (``"auto"``: from the galaxy's size).
    band, hdu : optional
        Which band/HDU of a FITS file becomes the lightness.
    precision : {"auto", "float32", "bfloat16"}, optional
        Network arithmetic, as for :class:`Colorizer`.
    style : None, str, os.PathLike or ColorStyle, optional
        The survey rendering of the color: None (galcolor's convention, the
        SDSS Galaxy Zoo composite), ``"sdss"``, ``"decals"``, ``"gama"``,
        ``"goods"``, ``"candels"``, ``"ukidss"`` or a style file
        (:mod:`galcolor.styles`), as for :class:`Colorizer`.

    Returns
    -------
    Colorization or list of Colorization
        Same shape and WCS as each input; L is the input's, unchanged.

    Notes
    -----
    The loaded model is kept between calls with the same ``model`` (a name or
    path), ``device`` and options, so repeated calls do not reload weights; a
    :class:`Colorizer` makes that explicit.

    Examples
    --------
    >>> import numpy as np
    >>> import galcolor
    >>> y, x = np.mgrid[:96, :96]
    >>> galaxy = 200.0 * np.exp(-np.hypot(x - 48, y - 48) / 8.0)
    >>> result = galcolor.colorize(galaxy, tta=False)
    >>> result.ab.shape, bool(np.array_equal(result.lightness, galcolor.load(galaxy).lightness))
    ((96, 96, 2), True)
    """
    options = dict(device=device, tta=tta, stretch=stretch, batch_size=batch_size, scale=scale,
                   band=band, hdu=hdu, precision=precision, style=style)
    if isinstance(model, torch.nn.Module) or not isinstance(stretch, str) or isinstance(style, ColorStyle):
        return Colorizer(model, **options).colorize(source)
    key = (str(model), str(device), tta, stretch, batch_size, str(scale), str(band), str(hdu), precision,
           str(style))
    colorizer = _CACHE.get(key)
    if colorizer is None:
        colorizer = _CACHE[key] = Colorizer(model, **options)
        while len(_CACHE) > 4:
            del _CACHE[next(iter(_CACHE))]
    return colorizer.colorize(source)
