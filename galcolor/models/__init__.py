"""Colorizer networks: a registry of architectures with regression and classification heads.

Every model maps CIELAB lightness ``(B, 1, H, W)`` in [0, 100] to ab
``(B, 2, H, W)`` in Lab units (regression head) or to logits over ab bins
``(B, K, H, W)`` (classification head, Zhang et al. 2016), at any H, W that
are multiples of its :attr:`~ColorizerNet.stride`. They share one interface,
:class:`ColorizerNet`: ``forward``, ``loss``, ``predict`` and ``config``.

- ``baseline``: all-conv VGG-style encoder + upsampling decoder (the
  reference; stride 8, default width 64, 6.2 M parameters).
- ``fusion``: encoder + global-feature branch fused into every pixel
  (Iizuka et al. 2016) + transposed-conv decoder; optional user backbone
  (stride 8, default width 32, 4.3 M parameters).
- ``unet``: U-Net with skip connections and batch norm (stride
  ``2 ** depth``, default width 16 and depth 4, 1.9 M parameters).

Examples
--------
>>> import torch
>>> from galcolor.models import get_model, list_models
>>> list_models()
['baseline', 'fusion', 'unet']
>>> model = get_model("unet", head="classification", width=4, depth=2).eval()
>>> lightness = torch.full((1, 1, 16, 16), 60.0)
>>> model(lightness).shape  # logits over the 614 bins of the SDSS galaxy grid
torch.Size([1, 614, 16, 16])
>>> ab, ab_std = model.predict(lightness)
>>> ab.shape, ab_std.shape
(torch.Size([1, 2, 16, 16]), torch.Size([1, 2, 16, 16]))
"""

from .base import AB_SCALE, HEADS, REGRESSION_LOSSES, ColorizerNet
from .baseline import BaselineColorizer
from .fusion import FusionColorizer
from .grids import default_galaxy_grid
from .pretrained import ModelBundle, bundle_for_weights, list_pretrained, load_bundle, load_pretrained, pretrained_path
from .registry import get_model, list_models
from .unet import UNetColorizer
from .weights import WeightsError, load_weights, save_weights, sha256_of

__all__ = [
    "AB_SCALE",
    "HEADS",
    "REGRESSION_LOSSES",
    "ColorizerNet",
    "BaselineColorizer",
    "FusionColorizer",
    "UNetColorizer",
    "default_galaxy_grid",
    "list_models",
    "get_model",
    "WeightsError",
    "save_weights",
    "load_weights",
    "sha256_of",
    "list_pretrained",
    "load_pretrained",
    "pretrained_path",
    "ModelBundle",
    "load_bundle",
    "bundle_for_weights",
]
