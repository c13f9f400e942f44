"""sRGB <-> CIELAB conversions in PyTorch (any device) with NumPy wrappers.

Every galcolor model works in CIELAB: the lightness L (0-100) goes in, the
chrominance (a*, b*) comes out. This module is the one place where the color
constants live.

The conversions follow the sRGB standard (IEC 61966-2-1) for companding and
the CIE 1976 L*a*b* definition with the D65 white point and the 2-degree
observer, exactly as :func:`skimage.color.rgb2lab` does, so results agree with
scikit-image to better than 1e-3 Lab units (see ``tests/test_color.py``).

The second half of the module is the ab quantization of Zhang, Isola & Efros
(2016, "Colorful Image Colorization", ECCV): a grid of ab bins fitted to
galaxy colors (:class:`AbGrid`), soft encoding of ab targets
(:func:`soft_encode`), class rebalancing (:func:`rebalance_weights`) and
annealed-mean decoding (:func:`annealed_mean`, :func:`ab_std_from_logits`)
used by the classification heads of :mod:`galcolor.models`.

Examples
--------
>>> import torch
>>> from galcolor.color import rgb_to_lab, lab_to_rgb
>>> black_and_white = torch.tensor([0.0, 1.0]).expand(3, 2).reshape(1, 3, 1, 2)
>>> lab = rgb_to_lab(black_and_white)
>>> lab[0, 0].tolist()  # L of black and of white
[[0.0, 100.0]]
>>> bool(torch.allclose(lab_to_rgb(lab), black_and_white, atol=1e-5))
True
"""

from __future__ import annotations

import math
import numpy as np
import torch
from torch import nn

from .exceptions import InputError

__all__ = [
    "D65_WHITE",
    "SRGB_TO_XYZ",
    "rgb_to_lab",
    "lab_to_rgb",
    "rgb_to_lab_numpy",
    "lab_to_rgb_numpy",
    "gray_to_lightness",
    "rgb_lightness",
    "lightness_to_luminance",
    "RgbToLab",
    "LabToRgb",
    "AbGrid",
    "DEFAULT_AB_STEP",
    "SOFT_SIGMA_PER_STEP",
    "DEFAULT_TEMPERATURE",
    "soft_encode",
    "rebalance_weights",
    "annealed_mean",
    "ab_std_from_logits",
    "delta_e2000_ab",
    "check_batch",
]

# CIE XYZ of the D65 white point, 2-degree observer (CIE 15:2004, Table T.3),
# normalised to Y = 1; the same values scikit-image uses.
D65_WHITE = (0.95047, 1.0, 1.08883)

# Linear sRGB -> XYZ for sRGB primaries under D65 (Lindbloom's matrix, as used
# by scikit-image's ``xyz_from_rgb``).
SRGB_TO_XYZ = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)

# sRGB companding (IEC 61966-2-1): linear segment below this encoded value.
_SRGB_ENCODED_KNEE = 0.04045
_SRGB_LINEAR_KNEE = 0.0031308
_SRGB_GAMMA = 2.4

# CIE L*a*b* constants in their exact rational form (CIE 15:2004 §8.2.1):
# epsilon = (6/29)^3, kappa = (29/3)^3.
_LAB_EPSILON = 216.0 / 24389.0
_LAB_KAPPA = 24389.0 / 27.0
_LAB_DELTA = 6.0 / 29.0

# Pixels per block on the CPU path. Working on ~256k pixels at a time keeps
# the dozen temporaries in L2 cache: ~2.5x faster than one pass over a
# (64, 3, 256, 256) batch (benchmarks/bench_color.py).
_CPU_BLOCK = 1 << 18


def _matrices(
    dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (rgb->xyz/white, xyz*white->rgb) as tensors on ``device``."""
    rgb_to_xyz = torch.tensor(SRGB_TO_XYZ, dtype=torch.float64)
    white = torch.tensor(D65_WHITE, dtype=torch.float64)
    forward = rgb_to_xyz / white[:, None]
    inverse = torch.linalg.inv(rgb_to_xyz) * white[None, :]
    return forward.to(dtype=dtype, device=device), inverse.to(dtype=dtype, device=device)


def _check_image(image: torch.Tensor, name: str) -> None:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if image.ndim < 3 or image.shape[-3] != 3:
        raise InputError(
            f"{name} must have shape (*, 3, H, W), got {tuple(image.shape)}"
        )
    if image.dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise InputError(f"{name} must be a floating-point tensor, got {image.dtype}")


def _join_at_knee(
    values: torch.Tensor, knee: float, curve, slope: float, intercept: float = 0.0
) -> torch.Tensor:
    """The line ``slope * x + intercept`` below ``knee``, ``curve(x)`` above it.

    Every piecewise function of sRGB and CIELAB is continuous at its knee, so
    ``line(min(x, knee)) + curve(max(x, knee)) - curve(knee)`` equals it
    everywhere: exactly on the linear side (black stays exactly black), and
    to ~1e-9 on the curved side. This avoids ``torch.where`` and boolean
    masks, which are ~10x slower than arithmetic on the CPU build of torch
    (3 ns vs 0.2-0.3 ns per element).
    """
    at_knee = curve(torch.tensor(knee, dtype=values.dtype, device=values.device))
    line = slope * values.clamp_max(knee) + (intercept - at_knee)
    return curve(values.clamp_min(knee)) + line


def _power(values: torch.Tensor, exponent: float) -> torch.Tensor:
    """``values ** exponent`` for positive values, as exp(exponent * log(values)).

    ``torch.pow`` with a fractional exponent is ~3x slower than exp + log on
    the CPU; the float32 result differs by a few ulp.
    """
    return torch.exp(exponent * torch.log(values))


def _srgb_to_linear(encoded: torch.Tensor) -> torch.Tensor:
    return _join_at_knee(
        encoded, _SRGB_ENCODED_KNEE, lambda v: _power((v + 0.055) / 1.055, _SRGB_GAMMA), 1.0 / 12.92
    )


def _linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    return _join_at_knee(
        linear, _SRGB_LINEAR_KNEE, lambda v: 1.055 * _power(v, 1.0 / _SRGB_GAMMA) - 0.055, 12.92
    )


def _mix(matrix: torch.Tensor, values: torch.Tensor, dim: int) -> torch.Tensor:
    """``matrix`` applied to the 3-vectors along ``dim`` (-2: (..., 3, N); -1: (N, 3))."""
    return matrix @ values if dim == -2 else values @ matrix.T


def _rgb_block_to_lab(rgb: torch.Tensor, forward: torch.Tensor, dim: int = -2) -> torch.Tensor:
    """sRGB in [0, 1] -> Lab; channels on ``dim``: (..., 3, N) or (N, 3)."""
    xyz = _mix(forward, _srgb_to_linear(rgb), dim)
    f = _join_at_knee(xyz, _LAB_EPSILON, lambda t: _power(t, 1.0 / 3.0), _LAB_KAPPA / 116.0, 16.0 / 116.0)
    fx, fy, fz = f.unbind(dim)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=dim)


def _lab_block_to_rgb(lab: torch.Tensor, inverse: torch.Tensor, clip: bool, dim: int = -2) -> torch.Tensor:
    """Lab -> sRGB; channels on ``dim``: (..., 3, N) or (N, 3)."""
    lightness, a, b = lab.unbind(dim)
    fy = (lightness + 16.0) / 116.0
    f = torch.stack([fy + a / 500.0, fy, fy - b / 200.0], dim=dim)
    xyz = _join_at_knee(f, _LAB_DELTA, lambda t: t * t * t, 116.0 / _LAB_KAPPA, -16.0 / _LAB_KAPPA)
    linear = _mix(inverse, xyz, dim)
    if clip:
        return _linear_to_srgb(linear.clamp(0.0, 1.0)).clamp(0.0, 1.0)
    # Out of gamut: extend the curve symmetrically to negative values.
    return torch.copysign(_linear_to_srgb(linear.abs()), linear)


def _apply_blockwise(image: torch.Tensor, block_fn) -> torch.Tensor:
    """Run ``block_fn`` on (B, 3, N) views of a (*, 3, H, W) tensor.

    On CUDA, or when gradients are needed, the whole tensor goes through at
    once (one kernel launch per op, autograd intact). On the CPU without
    gradients it goes through in cache-sized blocks.
    """
    shape = image.shape
    flat = image.reshape(-1, 3, shape[-2] * shape[-1])
    needs_grad = torch.is_grad_enabled() and image.requires_grad
    if image.device.type != "cpu" or needs_grad or flat.shape[-1] * flat.shape[0] <= _CPU_BLOCK:
        return block_fn(flat).reshape(shape)
    out = torch.empty_like(flat)
    n_pixels = flat.shape[-1]
    for index in range(flat.shape[0]):
        for start in range(0, n_pixels, _CPU_BLOCK):
            stop = start + _CPU_BLOCK
            out[index, :, start:stop] = block_fn(flat[index, :, start:stop])
    return out.reshape(shape)


def rgb_to_lab(image: torch.Tensor) -> torch.Tensor:
    """Convert sRGB images in [0, 1] to CIELAB (D65, 2-degree observer).

    Parameters
    ----------
    image : torch.Tensor, shape ``(*, 3, H, W)``
        sRGB values (gamma-encoded), nominally in [0, 1], float16/32/64 on
        any device.

    Returns
    -------
    torch.Tensor, shape ``(*, 3, H, W)``
        L in [0, 100] and a*, b* (roughly [-128, 127]), same dtype and device.

    Raises
    ------
    galcolor.exceptions.InputError
        If the shape is not ``(*, 3, H, W)`` or the dtype is not floating point.

    See Also
    --------
    lab_to_rgb, rgb_to_lab_numpy, RgbToLab

    Notes
    -----
    Half-precision inputs are converted in float32 and cast back.

    Examples
    --------
    >>> import torch
    >>> lab = rgb_to_lab(torch.tensor([1.0, 0.0, 0.0]).reshape(1, 3, 1, 1))
    >>> [round(float(v), 2) for v in lab.flatten()]
    [53.24, 80.09, 67.2]
    """
    _check_image(image, "image")
    work = image.float() if image.dtype in (torch.float16, torch.bfloat16) else image
    forward, _ = _matrices(work.dtype, work.device)
    lab = _apply_blockwise(work, lambda rgb: _rgb_block_to_lab(rgb, forward))
    return lab.to(image.dtype)


def lab_to_rgb(image: torch.Tensor, *, clip: bool = True) -> torch.Tensor:
    """Convert CIELAB images (D65, 2-degree observer) to sRGB.

    Parameters
    ----------
    image : torch.Tensor, shape ``(*, 3, H, W)``
        L in [0, 100], a* and b* in Lab units.
    clip : bool, optional
        Clip the result to the displayable range [0, 1] (default). With
        ``clip=False`` out-of-gamut colors come back outside [0, 1].

    Returns
    -------
    torch.Tensor, shape ``(*, 3, H, W)``
        Gamma-encoded sRGB, same dtype and device as the input.

    See Also
    --------
    rgb_to_lab, lab_to_rgb_numpy, LabToRgb

    Examples
    --------
    >>> import torch
    >>> grey = torch.tensor([50.0, 0.0, 0.0]).reshape(1, 3, 1, 1)
    >>> [round(float(v), 4) for v in lab_to_rgb(grey).flatten()]
    [0.4663, 0.4663, 0.4663]
    """
    _check_image(image, "image")
    work = image.float() if image.dtype in (torch.float16, torch.bfloat16) else image
    _, inverse = _matrices(work.dtype, work.device)
    rgb = _apply_blockwise(work, lambda lab: _lab_block_to_rgb(lab, inverse, clip))
    return rgb.to(image.dtype)


def _numpy_call(make_block_fn, image: np.ndarray, channel_axis: int) -> np.ndarray:
    """Convert a NumPy image with channels on ``channel_axis``, block by block.

    ``make_block_fn(dtype)`` returns the conversion of (N, 3) float tensors
    of that torch dtype.
    """
    array = np.asarray(image)
    if array.ndim < 1 or array.shape[channel_axis] != 3:
        raise InputError(
            f"image must have 3 channels on axis {channel_axis}, got shape {array.shape}"
        )
    if array.dtype.kind in "ui":
        raise InputError(
            f"image must be floating point (scale integer images to [0, 1] first), "
            f"got {array.dtype}"
        )
    dtype = np.float64 if array.dtype == np.float64 else np.float32
    moved = np.moveaxis(array.astype(dtype, copy=False), channel_axis, -1)
    if moved.size == 0:
        return np.empty(array.shape, dtype=dtype)
    if moved.ndim == 1:
        moved = moved[None]
    if not moved.flags.writeable or any(stride < 0 for stride in moved.strides):
        moved = moved.copy()  # torch.from_numpy takes neither read-only nor flipped arrays
    # Rows of pixels in whatever memory layout the input has (channels last
    # or planar): no transposed copy in, a channels-last result out, and
    # blocks of ~_CPU_BLOCK / 4 pixels keep the temporaries in cache.
    row_length = moved.shape[-2] if moved.ndim >= 3 else 1
    rows = torch.from_numpy(moved).reshape(-1, row_length, 3)
    block_fn = make_block_fn(rows.dtype)
    out = torch.empty(rows.shape, dtype=rows.dtype)
    step = max(1, (_CPU_BLOCK // 4) // rows.shape[1])
    with torch.no_grad():
        for start in range(0, rows.shape[0], step):
            out[start:start + step] = block_fn(rows[start:start + step])
    result = np.moveaxis(out.numpy().reshape(moved.shape), -1, channel_axis)
    return result[0] if array.ndim == 1 else result


def rgb_to_lab_numpy(image: np.ndarray, *, channel_axis: int = -1) -> np.ndarray:
    """NumPy version of :func:`rgb_to_lab` (channels last by default).

    Parameters
    ----------
    image : numpy.ndarray, shape (..., 3)
        Float sRGB in [0, 1].
    channel_axis : int, optional
        Axis holding the three channels (default last, like scikit-image).

    Returns
    -------
    numpy.ndarray
        Lab, same shape; float64 for float64 input, else float32.

    Examples
    --------
    >>> import numpy as np
    >>> rgb_to_lab_numpy(np.zeros((2, 2, 3))).max()
    np.float64(0.0)
    """
    def make_block_fn(dtype: torch.dtype):
        forward, _ = _matrices(dtype, torch.device("cpu"))
        return lambda rgb: _rgb_block_to_lab(rgb, forward, dim=-1)

    return _numpy_call(make_block_fn, image, channel_axis)


def lab_to_rgb_numpy(
    image: np.ndarray, *, channel_axis: int = -1, clip: bool = True
) -> np.ndarray:
    """NumPy version of :func:`lab_to_rgb` (channels last by default).

    Parameters
    ----------
    image : numpy.ndarray, shape (..., 3)
        Lab values.
    channel_axis : int, optional
        Axis holding L, a*, b* (default last).
    clip : bool, optional
        Clip to [0, 1] (default).

    Returns
    -------
    numpy.ndarray
        sRGB, same shape; float64 for float64 input, else float32.

    Examples
    --------
    >>> import numpy as np
    >>> lab_to_rgb_numpy(np.array([100.0, 0.0, 0.0])).round(4)
    array([1., 1., 1.])
    """
    def make_block_fn(dtype: torch.dtype):
        _, inverse = _matrices(dtype, torch.device("cpu"))
        return lambda lab: _lab_block_to_rgb(lab, inverse, clip, dim=-1)

    return _numpy_call(make_block_fn, image, channel_axis)


def gray_to_lightness(gray: np.ndarray) -> np.ndarray:
    """CIELAB lightness of grey sRGB values in [0, 1].

    A grey pixel ``v`` is the sRGB color (v, v, v); its L is what
    :func:`rgb_to_lab` gives for it (a* = b* = 0). This is how galcolor reads
    grayscale JPEG/PNG images and the display values of stretched FITS data.

    Parameters
    ----------
    gray : numpy.ndarray
        Gamma-encoded grey values in [0, 1] (values outside are clipped).

    Returns
    -------
    numpy.ndarray
        L in [0, 100], float32 unless the input is float64.

    Examples
    --------
    >>> import numpy as np
    >>> gray_to_lightness(np.array([0.0, 0.5, 1.0], dtype=np.float32)).round(2)
    array([  0.  ,  53.39, 100.  ], dtype=float32)
    """
    array = np.asarray(gray)
    dtype = np.float64 if array.dtype == np.float64 else np.float32
    v = np.clip(array.astype(dtype, copy=False), 0.0, 1.0)
    # For grey, Y equals the linearised value because the matrix rows for Y
    # sum to one; no need for the full 3x3 path.
    return _luminance_to_lightness(_srgb_decode_numpy(v)).astype(dtype, copy=False)


def _srgb_decode_numpy(v: np.ndarray) -> np.ndarray:
    """Linear sRGB of gamma-encoded values in [0, 1] (NumPy)."""
    return np.where(
        v > _SRGB_ENCODED_KNEE,
        ((np.maximum(v, _SRGB_ENCODED_KNEE) + 0.055) / 1.055) ** _SRGB_GAMMA,
        v / 12.92,
    )


def _luminance_to_lightness(luminance: np.ndarray) -> np.ndarray:
    """CIELAB L of relative luminance Y (white Y = 1)."""
    fy = np.where(
        luminance > _LAB_EPSILON,
        np.cbrt(np.maximum(luminance, _LAB_EPSILON)),
        (_LAB_KAPPA * luminance + 16.0) / 116.0,
    )
    return 116.0 * fy - 16.0


def _uint8_luminance_tables() -> np.ndarray:
    """(3, 256) float32: each 8-bit channel value's contribution to Y."""
    linear = _srgb_decode_numpy(np.arange(256, dtype=np.float64) / 255.0)
    return (np.asarray(SRGB_TO_XYZ[1])[:, None] / D65_WHITE[1] * linear[None, :]).astype(np.float32)


_UINT8_LUMINANCE = _uint8_luminance_tables()


def rgb_lightness(image: np.ndarray) -> np.ndarray:
    """CIELAB L of sRGB images, channels last, without computing a* and b*.

    The same L as ``rgb_to_lab_numpy(image)[..., 0]`` (to float32
    rounding) at a fraction of the cost: only the luminance Y is needed,
    and 8-bit images decode through a 256-entry table.

    Parameters
    ----------
    image : numpy.ndarray, shape (..., 3)
        uint8 sRGB (0-255), or float sRGB in [0, 1] (values outside are
        clipped).

    Returns
    -------
    numpy.ndarray
        L in [0, 100], shape ``image.shape[:-1]``; float32 unless the input
        is float64.

    Examples
    --------
    >>> import numpy as np
    >>> black_white_blue = np.array([[0, 0, 0], [255, 255, 255], [0, 0, 255]], dtype=np.uint8)
    >>> [round(float(value), 2) for value in rgb_lightness(black_white_blue)]
    [0.0, 100.0, 32.3]
    """
    array = np.asarray(image)
    if array.ndim < 1 or array.shape[-1] != 3:
        raise InputError(f"image must have 3 channels on its last axis, got shape {array.shape}")
    if array.dtype == np.uint8:
        table = _UINT8_LUMINANCE
        # np.take and in-place sums: ~1.6x faster than fancy indexing
        luminance = np.take(table[0], array[..., 0])
        luminance += np.take(table[1], array[..., 1])
        luminance += np.take(table[2], array[..., 2])
        return _luminance_to_lightness(luminance).astype(np.float32, copy=False)
    if array.dtype.kind not in "f":
        raise InputError(f"image must be uint8 or floating point, got {array.dtype}")
    dtype = np.float64 if array.dtype == np.float64 else np.float32
    linear = _srgb_decode_numpy(np.clip(array.astype(dtype, copy=False), 0.0, 1.0))
    luminance = linear @ (np.asarray(SRGB_TO_XYZ[1], dtype=dtype) / dtype(D65_WHITE[1]))
    return _luminance_to_lightness(luminance).astype(dtype, copy=False)


def lightness_to_luminance(lightness: np.ndarray) -> np.ndarray:
    """CIE relative luminance Y in [0, 1] of CIELAB lightness L (the inverse of L's cube root).

    Linear in the light, so sums of Y over pixels behave like fluxes (up
    to the stretch that made L); :func:`gray_to_lightness` goes the other
    way for grey sRGB values.

    Parameters
    ----------
    lightness : numpy.ndarray
        L in [0, 100].

    Returns
    -------
    numpy.ndarray
        Y, float64.

    Examples
    --------
    >>> import numpy as np
    >>> lightness_to_luminance(np.array([0.0, 8.0, 50.0, 100.0])).round(4)
    array([0.    , 0.0089, 0.1842, 1.    ])
    """
    lightness = np.asarray(lightness, dtype=np.float64)
    fy = (lightness + 16.0) / 116.0
    # below the knee (L = kappa * epsilon = 8) L is linear in Y
    return np.where(lightness > _LAB_KAPPA * _LAB_EPSILON, fy ** 3, lightness / _LAB_KAPPA)


class RgbToLab(nn.Module):
    """``nn.Module`` wrapper of :func:`rgb_to_lab`.

    Examples
    --------
    >>> import torch
    >>> RgbToLab()(torch.zeros(2, 3, 4, 4)).shape
    torch.Size([2, 3, 4, 4])
    """

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return rgb_to_lab(image)


class LabToRgb(nn.Module):
    """``nn.Module`` wrapper of :func:`lab_to_rgb`.

    Parameters
    ----------
    clip : bool, optional
        Clip the output to [0, 1] (default).

    Examples
    --------
    >>> import torch
    >>> LabToRgb()(torch.zeros(2, 3, 4, 4)).shape
    torch.Size([2, 3, 4, 4])
    """

    def __init__(self, clip: bool = True) -> None:
        super().__init__()
        self.clip = clip

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return lab_to_rgb(image, clip=self.clip)


# ---------------------------------------------------------------------------
# ab quantization for classification heads (Zhang, Isola & Efros 2016, ECCV,
# "Colorful Image Colorization", Sections 2.1-2.3), fitted to galaxy colors.

# Bin spacing in Lab units. Zhang et al. use 10 units (313 in-gamut bins) for
# ImageNet photographs. Galaxy color is faint: on SDSS galaxy pixels (L > 15)
# the chroma has median ~12, 90th percentile ~29 and 99th ~67 (DESIGN.md), so
# a 10-unit grid puts most galaxy pixels into the 9 bins around grey, and its
# rms quantization error (step / sqrt(6) for a square cell: 4.1 units) is a
# third of the median color itself. A 4-unit grid has an rms error of 1.6
# units and still only ~550 occupied bins on the 6,704 SDSS training images.
DEFAULT_AB_STEP = 4.0

# Width of the soft-encoding Gaussian and of the prior smoothing, in units of
# the grid step. Zhang et al. use sigma = 5 Lab units for both; keeping the
# same absolute width on the 4-unit grid gives 1.25 steps. On the finer grid
# this spreads a target over the nearest bin and its four edge neighbours
# (weight exp(-1 / (2 * 1.25**2)) = 0.73 of the nearest), which matches the
# few-unit chroma noise of JPEG-compressed survey composites: neighbouring
# 4-unit bins are not distinguishable in the data, so hard targets would
# teach the network the noise.
SOFT_SIGMA_PER_STEP = 1.25

# Annealed-mean temperature of Zhang et al. (Section 2.2), between the
# desaturated mean (T = 1) and the spatially noisy mode (T -> 0).
DEFAULT_TEMPERATURE = 0.38

# Number of (pixel, bin) squared distances held at once when searching for
# the nearest bins: 2**24 float32 values = 64 MiB.
_NEAREST_CHUNK = 1 << 24

# Neighbourhood searched first for the nearest bins of a lattice grid: the
# bins of the (2 r + 1)^2 lattice cells around a point. r = 2 covers the 5
# nearest bins of a full grid with room to spare (they lie within 1.6 steps).
_LATTICE_RADIUS = 2
_LATTICE_CANDIDATES = (2 * _LATTICE_RADIUS + 1) ** 2
# Largest lookup table built (int64 entries: 32 MiB); sparser grids are
# searched by ranking all bins.
_LATTICE_MAX_CELLS = 1 << 22

# Rows of the bin-to-bin Gaussian kernel computed at once when smoothing the
# prior, so grids with many thousands of bins do not need a K x K matrix.
_SMOOTHING_ROWS = 1024


# CIEDE2000 (Sharma, Wu & Dalal 2005, Color Res. Appl. 30, 21), eqs. 2-16.
_DE2000_C7 = 25.0 ** 7


def delta_e2000_ab(ab_1: torch.Tensor, ab_2: torch.Tensor, *, eps: float = 1e-4) -> torch.Tensor:
    """CIEDE2000 difference of two colors with the same lightness, differentiable.

    With equal L (a colorizer keeps the input's L) the lightness term of
    CIEDE2000 vanishes and the difference depends on a*, b* only. The value
    equals :func:`skimage.color.deltaE_ciede2000` (within float precision and
    ``eps``); gradients flow through the chroma and hue differences and the
    chroma weights, while the hue-angle weights (T and the blue-region
    rotation term of Sharma et al., eqs. 15-16) are treated as constants,
    which avoids the undefined hue of grey. It serves as a training loss
    (``loss="de2000"`` of the regression heads).

    Parameters
    ----------
    ab_1, ab_2 : torch.Tensor, shape ``(B, 2, H, W)``
        a*, b* of the two colors, in Lab units (channel 0 is a*).
    eps : float, optional
        Added under the square roots, so the gradient stays finite at zero
        chroma and at zero difference (the value at a perfect match is
        ``sqrt(eps)``, 0.01 by default).

    Returns
    -------
    torch.Tensor, shape ``(B, 1, H, W)``
        ΔE00 of every pixel, float32 (float64 inputs stay float64).

    Examples
    --------
    Sharma et al.'s test pair 1 (L = 50 for both):

    >>> import torch
    >>> from galcolor.color import delta_e2000_ab
    >>> first = torch.tensor([2.6772, -79.7751]).reshape(1, 2, 1, 1)
    >>> second = torch.tensor([0.0, -82.7485]).reshape(1, 2, 1, 1)
    >>> round(float(delta_e2000_ab(first, second, eps=0.0)), 4)
    2.0425
    """
    if not isinstance(ab_1, torch.Tensor) or not isinstance(ab_2, torch.Tensor) \
            or ab_1.shape != ab_2.shape or ab_1.ndim != 4 or ab_1.shape[1] != 2:
        shapes = [tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__ for v in (ab_1, ab_2)]
        raise InputError(f"delta_e2000_ab: expected two (B, 2, H, W) tensors of the same shape, got {shapes}")
    dtype = torch.float64 if torch.float64 in (ab_1.dtype, ab_2.dtype) else torch.float32
    a_1, b_1 = ab_1.to(dtype).unbind(1)
    a_2, b_2 = ab_2.to(dtype).unbind(1)
    chroma_mean = 0.5 * (torch.sqrt(a_1 ** 2 + b_1 ** 2 + eps) + torch.sqrt(a_2 ** 2 + b_2 ** 2 + eps))
    g = 0.5 * (1.0 - torch.sqrt(chroma_mean ** 7 / (chroma_mean ** 7 + _DE2000_C7)))
    a_1, a_2 = a_1 * (1.0 + g), a_2 * (1.0 + g)
    c_1 = torch.sqrt(a_1 ** 2 + b_1 ** 2 + eps)
    c_2 = torch.sqrt(a_2 ** 2 + b_2 ** 2 + eps)
    delta_c = c_2 - c_1
    # |dH'|^2 = da'^2 + db^2 - dC'^2; its sign is that of the hue turn from 1 to 2.
    delta_h_squared = ((a_2 - a_1) ** 2 + (b_2 - b_1) ** 2 - delta_c ** 2).clamp_min(0.0)
    delta_h = torch.sign(a_1 * b_2 - b_1 * a_2) * torch.sqrt(delta_h_squared + eps)
    c_bar = 0.5 * (c_1 + c_2)
    with torch.no_grad():
        h_1 = torch.rad2deg(torch.atan2(b_1, a_1)) % 360.0
        h_2 = torch.rad2deg(torch.atan2(b_2, a_2)) % 360.0
        h_bar = 0.5 * (h_1 + h_2)
        h_bar = torch.where((h_1 - h_2).abs() > 180.0, torch.where(h_bar < 180.0, h_bar + 180.0, h_bar - 180.0),
                            h_bar)
        radians = torch.deg2rad(h_bar)
        t = (1.0 - 0.17 * torch.cos(radians - math.radians(30.0)) + 0.24 * torch.cos(2.0 * radians)
             + 0.32 * torch.cos(3.0 * radians + math.radians(6.0)) - 0.20 * torch.cos(4.0 * radians - math.radians(63.0)))
        rotation = torch.deg2rad(30.0 * torch.exp(-(((h_bar - 275.0) / 25.0) ** 2)))
    s_c = 1.0 + 0.045 * c_bar
    s_h = 1.0 + 0.015 * c_bar * t
    r_t = -torch.sin(2.0 * rotation) * 2.0 * torch.sqrt(c_bar ** 7 / (c_bar ** 7 + _DE2000_C7))
    term_c, term_h = delta_c / s_c, delta_h / s_h
    squared = term_c ** 2 + term_h ** 2 + r_t * term_c * term_h
    return torch.sqrt(squared.clamp_min(0.0) + eps).unsqueeze(1)


def check_batch(tensor: torch.Tensor, name: str, channels: int) -> None:
    """Raise unless ``tensor`` is a floating-point ``(B, channels, H, W)`` tensor.

    The one shape check shared by the quantization functions, the models
    and the baselines; the message prints the shape that arrived.

    Examples
    --------
    >>> import torch
    >>> check_batch(torch.zeros(2, 1, 4, 4), "lightness", 1)
    >>> check_batch(torch.zeros(4, 4), "lightness", 1)
    Traceback (most recent call last):
    ...
    galcolor.exceptions.InputError: lightness must have shape (B, 1, H, W), got (4, 4)
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.ndim != 4 or tensor.shape[1] != channels:
        raise InputError(f"{name} must have shape (B, {channels}, H, W), got {tuple(tensor.shape)}")
    if not tensor.is_floating_point():
        raise InputError(f"{name} must be a floating-point tensor, got {tensor.dtype}")


def _check_ab(ab: torch.Tensor, name: str = "ab") -> None:
    check_batch(ab, name, 2)


def _check_logits(logits: torch.Tensor, grid: "AbGrid", name: str = "logits") -> None:
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(logits).__name__}")
    if logits.ndim != 4 or logits.shape[1] != grid.num_bins:
        raise InputError(
            f"{name} must have shape (B, K, H, W) with K = {grid.num_bins} bins of the grid, "
            f"got {tuple(logits.shape)}"
        )
    if not logits.is_floating_point():
        raise InputError(f"{name} must be a floating-point tensor, got {logits.dtype}")


def _check_temperature(temperature: float) -> float:
    temperature = float(temperature)
    if not temperature >= 0.0:
        raise InputError(f"temperature must be >= 0, got {temperature}")
    return temperature


class AbGrid:
    """A regular grid of ab bins with the empirical prior over them.

    The classification heads of :mod:`galcolor.models` predict, for every
    pixel, a distribution over these bins (Zhang et al. 2016). Only cells that
    contain training colors are kept, so the grid follows the galaxy color
    gamut instead of the whole sRGB gamut.

    Parameters
    ----------
    centers : array-like, shape ``(K, 2)``
        Bin centres (a*, b*) in Lab units.
    step : float
        Grid spacing in Lab units (the side of a square bin).
    counts : array-like, shape ``(K,)``, optional
        Number of training pixels in each bin (any non-negative weights with
        a positive sum). Default: one per bin, a uniform prior.

    Attributes
    ----------
    centers : torch.Tensor, shape ``(K, 2)``
        float32 bin centres on the CPU.
    step : float
        Grid spacing.
    counts : torch.Tensor, shape ``(K,)``
        float64 counts per bin.
    prior : torch.Tensor, shape ``(K,)``
        float32 empirical probabilities, ``counts / counts.sum()``.

    See Also
    --------
    soft_encode, rebalance_weights, annealed_mean, galcolor.models.default_galaxy_grid

    Examples
    --------
    >>> import numpy as np
    >>> samples = np.array([[0.5, 0.2], [1.0, -0.7], [9.0, 3.0], [3.9, 4.1]])
    >>> grid = AbGrid.from_samples(samples, step=4.0)
    >>> grid.centers.tolist()
    [[0.0, 0.0], [4.0, 4.0], [8.0, 4.0]]
    >>> grid.prior.tolist()
    [0.5, 0.25, 0.25]
    >>> import torch
    >>> grid.quantize(torch.tensor([7.0, 5.0]).reshape(1, 2, 1, 1)).tolist()
    [[[2]]]
    """

    def __init__(self, centers, step: float, counts=None) -> None:
        centers = torch.as_tensor(centers, dtype=torch.float32).detach().cpu()
        if centers.ndim != 2 or centers.shape[1] != 2 or centers.shape[0] < 1:
            raise InputError(f"centers must have shape (K, 2) with K >= 1, got {tuple(centers.shape)}")
        if not bool(torch.isfinite(centers).all()):
            raise InputError("centers must be finite")
        step = float(step)
        if not step > 0.0:
            raise InputError(f"step must be > 0, got {step}")
        if counts is None:
            counts = torch.ones(centers.shape[0], dtype=torch.float64)
        counts = torch.as_tensor(counts, dtype=torch.float64).detach().cpu()
        if counts.shape != (centers.shape[0],):
            raise InputError(
                f"counts must have shape ({centers.shape[0]},) to match centers, got {tuple(counts.shape)}"
            )
        if not bool(torch.isfinite(counts).all()) or bool((counts < 0).any()) or not counts.sum() > 0:
            raise InputError("counts must be finite, non-negative and not all zero")
        self.centers = centers
        self.step = step
        self.counts = counts
        self._device_centers: dict = {}
        self._device_lattices: dict = {}
        # Bins on the lattice of multiples of step get a lookup table
        # (lattice cell -> bin index) for the fast nearest-bin search.
        cells = torch.round(centers.double() / step)
        on_lattice = bool(torch.allclose(cells * step, centers.double(), rtol=0.0, atol=1e-4 * step))
        unique = on_lattice and torch.unique(cells, dim=0).shape[0] == cells.shape[0]
        extent = (cells.max(0).values - cells.min(0).values + 1 + 2 * _LATTICE_RADIUS).prod()
        unique = unique and float(extent) <= _LATTICE_MAX_CELLS
        self._lattice_cells = cells.long() if unique else None
        self._lattice_low = tuple(cells.min(0).values.long().tolist()) if unique else None

    @property
    def num_bins(self) -> int:
        """Number of bins K."""
        return int(self.centers.shape[0])

    def __len__(self) -> int:
        return self.num_bins

    @property
    def prior(self) -> torch.Tensor:
        """Empirical probability of each bin, float32, shape ``(K,)``."""
        return (self.counts / self.counts.sum()).float()

    def __repr__(self) -> str:
        low = self.centers.min(0).values.tolist()
        high = self.centers.max(0).values.tolist()
        return (
            f"AbGrid({self.num_bins} bins, step {self.step:g}, "
            f"a* in [{low[0]:g}, {high[0]:g}], b* in [{low[1]:g}, {high[1]:g}])"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AbGrid):
            return NotImplemented
        return (
            self.step == other.step
            and torch.equal(self.centers, other.centers)
            and torch.equal(self.counts, other.counts)
        )

    __hash__ = None  # mutable tensors inside: not hashable

    @classmethod
    def from_samples(
        cls,
        ab,
        step: float = DEFAULT_AB_STEP,
        min_count: int = 1,
        ab_range: tuple[float, float] = (-110.0, 110.0),
    ) -> "AbGrid":
        """Fit a grid to sample colors: keep the cells that contain samples.

        Cell centres are the multiples of ``step`` (so grey, ab = (0, 0), is a
        bin centre) and a sample belongs to the nearest centre.

        Parameters
        ----------
        ab : array-like, shape ``(N, 2)``
            Sample (a*, b*) values, e.g. the galaxy pixels of a training set
            (``lab[:, 1:].permute(0, 2, 3, 1).reshape(-1, 2)``). Non-finite
            rows are ignored.
        step : float, optional
            Grid spacing in Lab units (default :data:`DEFAULT_AB_STEP`, 4).
        min_count : int, optional
            Keep only cells with at least this many samples (default 1). A
            larger value drops rare colors (JPEG artefacts, hot pixels).
        ab_range : (float, float), optional
            Only cells whose centre lies in this interval on both axes are
            kept (default (-110, 110), beyond the sRGB gamut's ab extent).

        Returns
        -------
        AbGrid
            Bins sorted by (a*, b*), with the sample counts as the prior.

        Raises
        ------
        galcolor.exceptions.InputError
            If ``ab`` is not ``(N, 2)`` or no cell keeps ``min_count`` samples.

        Examples
        --------
        >>> AbGrid.from_samples([[0.0, 0.0], [0.1, 0.3], [20.0, -20.0]], min_count=2)
        AbGrid(1 bins, step 4, a* in [0, 0], b* in [0, 0])
        """
        samples = ab.detach().cpu().numpy() if isinstance(ab, torch.Tensor) else np.asarray(ab)
        if samples.ndim != 2 or samples.shape[1] != 2:
            raise InputError(f"ab samples must have shape (N, 2), got {samples.shape}")
        step = float(step)
        if not step > 0.0:
            raise InputError(f"step must be > 0, got {step}")
        samples = samples.astype(np.float64, copy=False)
        samples = samples[np.isfinite(samples).all(axis=1)]
        cells = np.floor(samples / step + 0.5).astype(np.int64)
        low, high = ab_range
        inside = ((cells * step >= low) & (cells * step <= high)).all(axis=1)
        cells, counts = np.unique(cells[inside], axis=0, return_counts=True)
        keep = counts >= min_count
        if not keep.any():
            raise InputError(
                f"no ab cell of step {step:g} in {tuple(ab_range)} holds {min_count} of the "
                f"{len(samples)} finite samples"
            )
        return cls(cells[keep] * step, step, counts[keep])

    def to_dict(self) -> dict:
        """The grid as plain lists and floats (JSON-able, ``weights_only``-safe).

        Examples
        --------
        >>> AbGrid([[0.0, 0.0], [4.0, 0.0]], 4.0, [3, 1]).to_dict()
        {'step': 4.0, 'centers': [[0.0, 0.0], [4.0, 0.0]], 'counts': [3, 1]}
        """
        counts = [int(c) if float(c).is_integer() else float(c) for c in self.counts.tolist()]
        return {"step": self.step, "centers": self.centers.tolist(), "counts": counts}

    @classmethod
    def from_dict(cls, data: dict) -> "AbGrid":
        """Rebuild a grid from :meth:`to_dict` output.

        Examples
        --------
        >>> grid = AbGrid([[0.0, 0.0], [4.0, 0.0]], 4.0, [3, 1])
        >>> AbGrid.from_dict(grid.to_dict()) == grid
        True
        """
        try:
            return cls(data["centers"], data["step"], data.get("counts"))
        except (KeyError, TypeError) as error:
            raise InputError(f"not an AbGrid dictionary (needs 'centers' and 'step'): {error}") from None

    def centers_on(self, device: torch.device | str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The bin centres on ``device`` (copied once per device and cached)."""
        key = (str(torch.device(device)), dtype)
        cached = self._device_centers.get(key)
        if cached is None:
            cached = self.centers.to(device=device, dtype=dtype)
            self._device_centers[key] = cached
        return cached

    def _lattice_on(self, device: torch.device | str):
        """Lookup table for the fast nearest-bin search, on ``device``; None off-lattice.

        Returns (table, offsets, centers): ``table[i, j]`` is the bin at
        lattice cell ``low + (i, j) - r`` (padded by r = 2 cells all round),
        or K, the index of a sentinel centre appended far away, for empty
        cells; ``offsets`` are the flat offsets of the 5 x 5 neighbourhood.
        """
        if self._lattice_cells is None:
            return None
        key = str(torch.device(device))
        cached = self._device_lattices.get(key)
        if cached is None:
            cells = self._lattice_cells - torch.tensor(self._lattice_low) + _LATTICE_RADIUS
            rows, columns = (cells.max(0).values + 1 + _LATTICE_RADIUS).tolist()
            table = torch.full((rows, columns), self.num_bins, dtype=torch.long)
            table[cells[:, 0], cells[:, 1]] = torch.arange(self.num_bins)
            steps = torch.arange(-_LATTICE_RADIUS, _LATTICE_RADIUS + 1)
            offsets = (steps[:, None] * columns + steps[None, :]).reshape(-1)
            sentinel = torch.full((1, 2), 1e6)
            centers = torch.cat([self.centers, sentinel])
            cached = (table.to(device), offsets.to(device), centers.to(device).contiguous())
            self._device_lattices[key] = cached
        return cached

    def quantize(self, ab: torch.Tensor) -> torch.Tensor:
        """Index of the nearest bin centre of every pixel.

        Parameters
        ----------
        ab : torch.Tensor, shape ``(B, 2, H, W)``
            a*, b* in Lab units, any device.

        Returns
        -------
        torch.Tensor, shape ``(B, H, W)``
            int64 bin indices, on the device of ``ab``.

        Examples
        --------
        >>> import torch
        >>> grid = AbGrid([[0.0, 0.0], [4.0, 0.0]], 4.0)
        >>> grid.quantize(torch.tensor([[[[1.0, 3.0]], [[0.0, 0.0]]]])).tolist()
        [[[0, 1]]]
        """
        _check_ab(ab)
        indices, _ = _nearest_bins(ab, self, 1)
        return indices[:, 0]


def _nearest_bins(ab: torch.Tensor, grid: AbGrid, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices and squared distances of the ``k`` nearest bins, nearest first.

    Returns two ``(B, k, H, W)`` tensors (int64 and float32) on the device of
    ``ab``. Grids on a lattice (every grid that :meth:`AbGrid.from_samples`
    makes) first look among the bins of the 5 x 5 lattice cells around each
    point, through a lookup table; that is exact whenever the k-th nearest
    candidate is closer than any bin outside the neighbourhood can be, and
    ~5x faster than ranking all K bins (0.2 s instead of 1.2 s for
    32 x 64 x 64 pixels and the 614 bins of the SDSS grid on the CPU). The
    remaining points (far outside the grid, or at a ragged edge) are ranked
    against all bins.
    """
    batch, _, height, width = ab.shape
    k = min(int(k), grid.num_bins)
    with torch.no_grad():
        points = ab.detach().float().permute(0, 2, 3, 1).reshape(-1, 2)
        if not bool(torch.isfinite(points).all()):
            raise InputError(f"ab of shape {tuple(ab.shape)} contains NaN or infinite values")
        indices = torch.empty(points.shape[0], k, dtype=torch.long, device=ab.device)
        distances = torch.empty(points.shape[0], k, dtype=torch.float32, device=ab.device)
        lattice = grid._lattice_on(ab.device)
        chunk = max(1, _NEAREST_CHUNK // (_LATTICE_CANDIDATES if lattice is not None else grid.num_bins))
        for start in range(0, points.shape[0], chunk):
            part = points[start:start + chunk]
            if lattice is None:
                found = torch.zeros(part.shape[0], dtype=torch.bool, device=ab.device)
            else:
                near, near_distances, found = _nearest_on_lattice(part, grid, lattice, k)
                indices[start:start + chunk] = near
                distances[start:start + chunk] = near_distances
            if not bool(found.all()):
                rows = (~found).nonzero().squeeze(1)
                near, near_distances = _nearest_by_ranking(part[rows], grid, k)
                indices[start + rows] = near
                distances[start + rows] = near_distances
    shape = (batch, height, width, k)
    return (
        indices.reshape(shape).permute(0, 3, 1, 2),
        distances.reshape(shape).permute(0, 3, 1, 2),
    )


def _nearest_by_ranking(points: torch.Tensor, grid: AbGrid, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """k nearest bins of (N, 2) points, ranking all K bins.

    The ranking uses ``|x|^2 - 2 x.c + |c|^2`` (one matrix product, ~1e-3
    absolute error in float32 at |ab| ~ 100: enough to rank bins); the
    returned distances are recomputed exactly from the differences.
    """
    centers = grid.centers_on(points.device)
    norms = (points * points).sum(1, keepdim=True)
    approximate = norms - 2.0 * points @ centers.T + (centers * centers).sum(1)
    nearest = approximate.topk(k, dim=1, largest=False, sorted=True).indices
    difference = points[:, None, :] - centers[nearest]
    return nearest, (difference * difference).sum(-1)


def _nearest_on_lattice(
    points: torch.Tensor, grid: AbGrid, lattice: tuple[torch.Tensor, torch.Tensor, torch.Tensor], k: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """k nearest bins among the 5 x 5 lattice cells around (N, 2) points.

    Returns indices, squared distances and a mask of the points for which
    the answer is certainly exact: any bin outside the neighbourhood is at
    least 2.5 steps away along one axis, so a k-th distance below that is
    final. Points beyond the table are clamped to its edge; every bin is
    then at least 2.5 steps away from them, so they are never "found".
    """
    table, offsets, centers = lattice  # centers: the K bins and a far sentinel
    rows, columns = table.shape
    cells = torch.round(points / grid.step) - torch.tensor(grid._lattice_low, device=points.device)
    row = (cells[:, 0] + _LATTICE_RADIUS).clamp(_LATTICE_RADIUS, rows - 1 - _LATTICE_RADIUS)
    column = (cells[:, 1] + _LATTICE_RADIUS).clamp(_LATTICE_RADIUS, columns - 1 - _LATTICE_RADIUS)
    flat = (row * columns + column).long()
    # index_select on flat tensors: ~3x faster than advanced indexing on the CPU.
    candidates = table.view(-1).index_select(0, (flat[:, None] + offsets).view(-1))
    delta_a = points[:, :1] - centers[:, 0].index_select(0, candidates).view(-1, offsets.numel())
    delta_b = points[:, 1:] - centers[:, 1].index_select(0, candidates).view(-1, offsets.numel())
    candidates = candidates.view(-1, offsets.numel())  # (N, 25)
    nearest = (delta_a * delta_a + delta_b * delta_b).topk(k, dim=1, largest=False, sorted=True)
    reach = (_LATTICE_RADIUS + 0.5) * grid.step
    found = nearest.values[:, -1] < reach * reach
    return candidates.gather(1, nearest.indices), nearest.values, found


def _soft_encode_sparse(
    ab: torch.Tensor, grid: AbGrid, k: int = 5, sigma: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft encoding as (indices, weights), both ``(B, k, H, W)``, nearest bin first.

    This is what the classification loss uses: gathering k log-probabilities
    per pixel instead of building the dense (B, K, H, W) target is ~K/k times
    less memory.
    """
    _check_ab(ab)
    if int(k) < 1:
        raise InputError(f"k must be >= 1, got {k}")
    sigma = SOFT_SIGMA_PER_STEP * grid.step if sigma is None else float(sigma)
    if not sigma > 0.0:
        raise InputError(f"sigma must be > 0, got {sigma}")
    indices, distances = _nearest_bins(ab, grid, k)
    # Subtracting the nearest distance keeps exp() from underflowing to 0/0
    # for colors far outside the grid; it cancels in the normalisation.
    weights = torch.exp(-(distances - distances[:, :1]) / (2.0 * sigma * sigma))
    return indices, weights / weights.sum(1, keepdim=True)


def soft_encode(
    ab: torch.Tensor, grid: AbGrid, k: int = 5, sigma: float | None = None
) -> torch.Tensor:
    """Soft-encode ab values as distributions over the bins of ``grid``.

    Each pixel's color is spread over its ``k`` nearest bin centres with
    weights ``exp(-d^2 / (2 sigma^2))``, normalised to sum to one (Zhang et al.
    2016, Section 2.1: k = 5, sigma = 5).

    Parameters
    ----------
    ab : torch.Tensor, shape ``(B, 2, H, W)``
        a*, b* in Lab units, any device.
    grid : AbGrid
        The bins.
    k : int, optional
        Number of nearest bins that receive weight (default 5; at most K).
    sigma : float, optional
        Gaussian width in Lab units. Default ``SOFT_SIGMA_PER_STEP * grid.step``
        = 1.25 steps, i.e. Zhang's 5 Lab units on the 4-unit grid (see the
        comment at :data:`SOFT_SIGMA_PER_STEP` for why the absolute width is
        kept).

    Returns
    -------
    torch.Tensor, shape ``(B, K, H, W)``
        float32 target distributions, on the device of ``ab``.

    Raises
    ------
    galcolor.exceptions.InputError
        If ``ab`` is not ``(B, 2, H, W)``, ``k < 1`` or ``sigma <= 0``.

    Examples
    --------
    >>> import torch
    >>> grid = AbGrid([[0.0, 0.0], [4.0, 0.0], [8.0, 0.0]], 4.0)
    >>> target = soft_encode(torch.tensor([2.0, 0.0]).reshape(1, 2, 1, 1), grid, k=2)
    >>> target.flatten().tolist()  # halfway between the first two bins
    [0.5, 0.5, 0.0]
    """
    indices, weights = _soft_encode_sparse(ab, grid, k, sigma)
    batch, _, height, width = ab.shape
    target = torch.zeros(batch, grid.num_bins, height, width, dtype=torch.float32, device=ab.device)
    return target.scatter_(1, indices, weights)


def rebalance_weights(
    grid: AbGrid, lam: float = 0.5, smoothing_sigma: float | None = None
) -> torch.Tensor:
    """Class-rebalancing weights from the prior of ``grid`` (Zhang et al. eq. 4).

    ``w ∝ ((1 - lam) * p_smooth + lam / K) ** -1``, normalised so that
    ``sum(p_smooth * w) = 1``, where ``p_smooth`` is the empirical prior
    smoothed with a Gaussian over the bin positions. Rare (saturated) colors
    get larger weights so that the network does not settle on grey; ``lam``
    mixes in a uniform distribution to cap the weights at ``1 / (lam / K)``
    times the normalisation.

    Parameters
    ----------
    grid : AbGrid
        The bins and their prior (:attr:`AbGrid.prior`).
    lam : float, optional
        Weight of the uniform distribution, in [0, 1] (default 0.5, Zhang's).
        ``lam = 1`` gives all-ones weights (no rebalancing).
    smoothing_sigma : float, optional
        Width of the smoothing Gaussian in Lab units; 0 disables smoothing.
        Default ``SOFT_SIGMA_PER_STEP * grid.step`` (Zhang's 5 units on the
        4-unit grid).

    Returns
    -------
    torch.Tensor, shape ``(K,)``
        float32 weights on the CPU.

    Notes
    -----
    The smoothed prior is ``p_smooth_i ∝ sum_j exp(-|c_i - c_j|^2 /
    (2 sigma^2)) p_j`` over the bins kept in the grid, renormalised to sum to
    one. As in Zhang et al., the expectation that normalises the weights is
    taken under the smoothed prior; without smoothing it is the empirical
    prior.

    Examples
    --------
    >>> grid = AbGrid([[0.0, 0.0], [4.0, 0.0]], 4.0, counts=[3, 1])
    >>> [round(w, 4) for w in rebalance_weights(grid, smoothing_sigma=0).tolist()]
    [0.8571, 1.4286]
    """
    lam = float(lam)
    if not 0.0 <= lam <= 1.0:
        raise InputError(f"lam must be in [0, 1], got {lam}")
    sigma = SOFT_SIGMA_PER_STEP * grid.step if smoothing_sigma is None else float(smoothing_sigma)
    if not sigma >= 0.0:
        raise InputError(f"smoothing_sigma must be >= 0, got {sigma}")
    prior = grid.counts / grid.counts.sum()
    if sigma > 0.0:
        centers = grid.centers.double()
        smoothed = torch.empty_like(prior)
        for start in range(0, grid.num_bins, _SMOOTHING_ROWS):
            rows = centers[start:start + _SMOOTHING_ROWS]
            kernel = torch.exp(-torch.cdist(rows, centers) ** 2 / (2.0 * sigma * sigma))
            smoothed[start:start + _SMOOTHING_ROWS] = kernel @ prior
        prior = smoothed / smoothed.sum()
    mixture = (1.0 - lam) * prior + lam / grid.num_bins
    if bool((mixture <= 0).any()):
        raise InputError("lam = 0 needs a prior that is positive in every bin")
    weights = 1.0 / mixture
    return (weights / (prior * weights).sum()).float()


#: Pixels decoded at a time by :func:`_bin_moments` (x K bins x 4 bytes of probabilities).
_DECODE_PIXELS = 16384


def _bin_moments(logits: torch.Tensor, centers: torch.Tensor, temperature: float,
                 second: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Mean (and second moment) of the bin centres under softmax(logits / T), (B, 2, H, W) each.

    softmax(log_softmax(z) / T) == softmax(z / T): log_softmax only subtracts a
    per-pixel constant, which the second softmax removes. float32 even under
    autocast: bf16 probabilities would cost ~0.5 Lab units in the mean. The
    pixels are decoded in chunks, bins last, so that the (pixels, K) x (K, 2)
    products run as matrix products and the probabilities never fill memory
    for large images (K is ~600 for the galaxy grid).
    """
    batch, bins, height, width = logits.shape
    flat = logits.permute(0, 2, 3, 1).reshape(-1, bins)  # a view for channels_last logits
    centers = centers.float()
    mean = torch.empty(flat.shape[0], 2, dtype=torch.float32, device=logits.device)
    squares = torch.empty_like(mean) if second else None
    for start in range(0, flat.shape[0], _DECODE_PIXELS):
        chunk = torch.softmax(flat[start:start + _DECODE_PIXELS].float() / temperature, dim=1)
        mean[start:start + _DECODE_PIXELS] = chunk @ centers
        if squares is not None:
            squares[start:start + _DECODE_PIXELS] = chunk @ (centers * centers)

    def image(values: torch.Tensor) -> torch.Tensor:
        return values.reshape(batch, height, width, 2).permute(0, 3, 1, 2)

    return image(mean), None if squares is None else image(squares)


def annealed_mean(
    logits: torch.Tensor, grid: AbGrid, temperature: float = DEFAULT_TEMPERATURE
) -> torch.Tensor:
    """Decode bin logits to ab with the annealed mean (Zhang et al. eq. 5).

    ``ab = sum_q softmax(log softmax(z) / T)_q * c_q``: T = 1 is the mean of
    the predicted distribution (desaturated when it is multimodal), T -> 0 its
    mode (vivid but spatially noisy); Zhang et al. chose T = 0.38.

    Parameters
    ----------
    logits : torch.Tensor, shape ``(B, K, H, W)``
        Unnormalised scores over the K bins of ``grid``.
    grid : AbGrid
        The bins the logits refer to.
    temperature : float, optional
        Annealing temperature (default :data:`DEFAULT_TEMPERATURE`, 0.38);
        0 returns the centre of the most probable bin.

    Returns
    -------
    torch.Tensor, shape ``(B, 2, H, W)``
        float32 a*, b* in Lab units, on the device of ``logits``.

    Examples
    --------
    >>> import torch
    >>> grid = AbGrid([[0.0, 0.0], [4.0, 8.0]], 4.0)
    >>> one_hot_logits = torch.tensor([-1e4, 0.0]).reshape(1, 2, 1, 1)
    >>> annealed_mean(one_hot_logits, grid).flatten().tolist()
    [4.0, 8.0]
    """
    _check_logits(logits, grid)
    temperature = _check_temperature(temperature)
    centers = grid.centers_on(logits.device)
    if temperature == 0.0:
        return centers[logits.argmax(1)].permute(0, 3, 1, 2)
    return _bin_moments(logits, centers, temperature, second=False)[0]


def ab_std_from_logits(
    logits: torch.Tensor, grid: AbGrid, temperature: float = 1.0
) -> torch.Tensor:
    """Per-channel standard deviation of the predicted ab distribution.

    Parameters
    ----------
    logits : torch.Tensor, shape ``(B, K, H, W)``
        Unnormalised scores over the K bins of ``grid``.
    grid : AbGrid
        The bins the logits refer to.
    temperature : float, optional
        Default 1: the spread of the distribution the network predicts.
        Annealing (T < 1) sharpens the distribution and would understate the
        uncertainty; T = 0 gives zeros.

    Returns
    -------
    torch.Tensor, shape ``(B, 2, H, W)``
        float32 standard deviations of a* and b* in Lab units.

    Notes
    -----
    Bin widths are not added: a one-hot prediction has zero spread although
    the color is only known to within a bin (uniform within a cell would add
    ``step / sqrt(12)`` in quadrature).

    Examples
    --------
    >>> import torch
    >>> grid = AbGrid([[0.0, 0.0], [4.0, 8.0]], 4.0)
    >>> fifty_fifty = torch.zeros(1, 2, 1, 1)
    >>> ab_std_from_logits(fifty_fifty, grid).flatten().tolist()  # half the distances
    [2.0, 4.0]
    """
    _check_logits(logits, grid)
    temperature = _check_temperature(temperature)
    if temperature == 0.0:
        batch, _, height, width = logits.shape
        return torch.zeros(batch, 2, height, width, dtype=torch.float32, device=logits.device)
    centers = grid.centers_on(logits.device)
    mean, second_moment = _bin_moments(logits, centers, temperature, second=True)
    return (second_moment - mean * mean).clamp_min(0.0).sqrt()
