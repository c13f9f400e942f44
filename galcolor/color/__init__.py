"""Color for galcolor: sRGB <-> CIELAB, ab quantization, CIEDE2000 and the shape checks.

Every galcolor model works in CIELAB: the lightness L (0-100) goes in, the
chrominance (a*, b*) comes out. The conversions (:mod:`~galcolor.color.lab`,
the one place where the color constants live) agree with scikit-image to
better than 1e-3 Lab units.

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

from . import checks, delta_e, lab, quantize
from .checks import *  # noqa: F401,F403 - each module's __all__ is the package's
from .delta_e import *  # noqa: F401,F403
from .lab import *  # noqa: F401,F403
from .quantize import *  # noqa: F401,F403

__all__ = lab.__all__ + quantize.__all__ + delta_e.__all__ + checks.__all__
