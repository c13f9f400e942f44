"""sRGB <-> CIELAB conversions in PyTorch (any device) with NumPy wrappers.

Every galcolor model works in CIELAB: the lightness L (0-100) goes in, the
chrominance (a*, b*) comes out. This module is the one place where the color
constants live.

The conversions follow the sRGB standard (IEC 61966-2-1) for companding and
the CIE 1976 L*a*b* definition with the D65 white point and the 2-degree
observer, exactly as :func:`skimage.color.rgb2lab` does, so results agree with
scikit-image to better than 1e-3 Lab units (see ``tests/test_color.py``).

The package's docstring (:mod:`galcolor.color`) has a round-trip example.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..exceptions import InputError

__all__ = [
    "D65_WHITE",
    "SRGB_TO_XYZ",
    "SRGB_LINEAR_KNEE",
    "SRGB_GAMMA",
    "LAB_KAPPA",
    "LAB_DELTA",
    "rgb_to_lab",
    "lab_to_rgb",
    "rgb_to_lab_numpy",
    "lab_to_rgb_numpy",
    "gray_to_lightness",
    "lightness_to_gray",
    "rgb_lightness",
    "lightness_to_luminance",
    "RgbToLab",
    "LabToRgb",
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
SRGB_LINEAR_KNEE = 0.0031308
SRGB_GAMMA = 2.4

# CIE L*a*b* constants in their exact rational form (CIE 15:2004 §8.2.1):
# epsilon = (6/29)^3, kappa = (29/3)^3.
_LAB_EPSILON = 216.0 / 24389.0
LAB_KAPPA = 24389.0 / 27.0
LAB_DELTA = 6.0 / 29.0

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
        encoded, _SRGB_ENCODED_KNEE, lambda v: _power((v + 0.055) / 1.055, SRGB_GAMMA), 1.0 / 12.92
    )


def _linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    return _join_at_knee(
        linear, SRGB_LINEAR_KNEE, lambda v: 1.055 * _power(v, 1.0 / SRGB_GAMMA) - 0.055, 12.92
    )


def _mix(matrix: torch.Tensor, values: torch.Tensor, dim: int) -> torch.Tensor:
    """``matrix`` applied to the 3-vectors along ``dim`` (-2: (..., 3, N); -1: (N, 3))."""
    return matrix @ values if dim == -2 else values @ matrix.T


def _rgb_block_to_lab(rgb: torch.Tensor, forward: torch.Tensor, dim: int = -2) -> torch.Tensor:
    """sRGB in [0, 1] -> Lab; channels on ``dim``: (..., 3, N) or (N, 3)."""
    xyz = _mix(forward, _srgb_to_linear(rgb), dim)
    f = _join_at_knee(xyz, _LAB_EPSILON, lambda t: _power(t, 1.0 / 3.0), LAB_KAPPA / 116.0, 16.0 / 116.0)
    fx, fy, fz = f.unbind(dim)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=dim)


def _lab_block_to_rgb(lab: torch.Tensor, inverse: torch.Tensor, clip: bool, dim: int = -2) -> torch.Tensor:
    """Lab -> sRGB; channels on ``dim``: (..., 3, N) or (N, 3)."""
    lightness, a, b = lab.unbind(dim)
    fy = (lightness + 16.0) / 116.0
    f = torch.stack([fy + a / 500.0, fy, fy - b / 200.0], dim=dim)
    xyz = _join_at_knee(f, LAB_DELTA, lambda t: t * t * t, 116.0 / LAB_KAPPA, -16.0 / LAB_KAPPA)
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
        ((np.maximum(v, _SRGB_ENCODED_KNEE) + 0.055) / 1.055) ** SRGB_GAMMA,
        v / 12.92,
    )


def _luminance_to_lightness(luminance: np.ndarray) -> np.ndarray:
    """CIELAB L of relative luminance Y (white Y = 1)."""
    fy = np.where(
        luminance > _LAB_EPSILON,
        np.cbrt(np.maximum(luminance, _LAB_EPSILON)),
        (LAB_KAPPA * luminance + 16.0) / 116.0,
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
    return np.where(lightness > LAB_KAPPA * _LAB_EPSILON, fy ** 3, lightness / LAB_KAPPA)


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


def lightness_to_gray(lightness: np.ndarray) -> np.ndarray:
    """Gamma-encoded grey value in [0, 1] of CIELAB lightness (the inverse of :func:`gray_to_lightness`).

    Examples
    --------
    >>> import numpy as np
    >>> lightness_to_gray(np.array([0.0, 53.39, 100.0])).round(3)
    array([0. , 0.5, 1. ])
    """
    linear = np.clip(lightness_to_luminance(lightness), 0.0, 1.0)
    return np.where(linear > SRGB_LINEAR_KNEE, 1.055 * linear ** (1.0 / SRGB_GAMMA) - 0.055, 12.92 * linear)
