"""sRGB <-> CIELAB conversions in PyTorch (any device) with NumPy wrappers.

Every galcolor model works in CIELAB: the lightness L (0-100) goes in, the
chrominance (a*, b*) comes out. This package is the one place where the color
constants live.

The conversions follow the sRGB standard (IEC 61966-2-1) for companding and
the CIE 1976 L*a*b* definition with the D65 white point and the 2-degree
observer, exactly as :func:`skimage.color.rgb2lab` does, so results agree with
scikit-image to better than 1e-3 Lab units (see ``tests/test_color.py``).

The second half of the package is the ab quantization of Zhang, Isola & Efros
(2016, "Colorful Image Colorization", ECCV): a grid of ab bins fitted to
galaxy colors (:class:`AbGrid`), soft encoding of ab targets
(:func:`soft_encode`), class rebalancing (:func:`rebalance_weights`) and
annealed-mean decoding (:func:`annealed_mean`, :func:`ab_std_from_logits`)
used by the classification heads of :mod:`galcolor.models`.

Every public name is importable from ``galcolor.color``; the modules are

* :mod:`galcolor.color.lab`: the color constants and the sRGB <-> CIELAB
  conversions (torch, NumPy, ``nn.Module`` wrappers, lightness shortcuts);
* :mod:`galcolor.color.quantize`: the ab bins, soft encoding, rebalancing
  and decoding;
* :mod:`galcolor.color.delta_e`: the differentiable CIEDE2000 difference
  :func:`delta_e2000_ab`;
* :mod:`galcolor.color.checks`: the shape checks shared by the models,
  baselines and metrics (:func:`check_batch`, :func:`check_logits`).

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

from .checks import check_batch
from .delta_e import delta_e2000_ab
from .lab import (
    D65_WHITE,
    SRGB_TO_XYZ,
    LabToRgb,
    RgbToLab,
    gray_to_lightness,
    lab_to_rgb,
    lab_to_rgb_numpy,
    lightness_to_luminance,
    rgb_lightness,
    rgb_to_lab,
    rgb_to_lab_numpy,
)
from .quantize import (
    check_logits,
    DEFAULT_AB_STEP,
    DEFAULT_TEMPERATURE,
    SOFT_SIGMA_PER_STEP,
    AbGrid,
    ab_std_from_logits,
    annealed_mean,
    rebalance_weights,
    soft_encode,
    soft_encode_sparse,
)

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
    "soft_encode_sparse",
    "rebalance_weights",
    "annealed_mean",
    "ab_std_from_logits",
    "delta_e2000_ab",
    "check_batch",
    "check_logits",
]
