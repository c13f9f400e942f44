"""CIEDE2000 color difference of two ab images at equal lightness, differentiable."""

from __future__ import annotations

import math

import torch

from ..exceptions import InputError

__all__ = ["delta_e2000_ab"]

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
